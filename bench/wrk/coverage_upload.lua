-- wrk script for bench/coverage.sh: POSTs the report in $WRK_BODY_FILE to /2.0/coverage/<commit>/go with
-- the project token in $WRK_TOKEN; each request names a new commit, so every upload is a fresh durable write.
local f = assert(io.open(os.getenv("WRK_BODY_FILE"), "rb"))
local body = f:read("*a")
f:close()
local headers = { ["project-token"] = os.getenv("WRK_TOKEN"), ["Content-Type"] = "application/json" }
local counter = 0
local thread_tag = tostring(math.random(1, 1000000000))

request = function()
  counter = counter + 1
  return wrk.format("POST", "/2.0/coverage/b" .. thread_tag .. "x" .. counter .. "/go", headers, body)
end
