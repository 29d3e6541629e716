// Keeps rt_testsupport non-empty while the support files are being written.
