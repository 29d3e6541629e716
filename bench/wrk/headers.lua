-- wrk script: a fixed request (WRK_PATH) with one auth header (WRK_HEADER="name: value"; empty: none).
local header = os.getenv("WRK_HEADER")
if header and header ~= "" then
  local name, value = header:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end
wrk.path = os.getenv("WRK_PATH") or wrk.path
