-- wrk script: POST .../repositories/rNNNNNN/tokens round-robin over WRK_REPOS repositories of WRK_ORG, so
-- that the 100-live-token cap of a repository is never reached during a bounded run.
local header = os.getenv("WRK_HEADER")
local name, value = header:match("^([^:]+):%s*(.*)$")
local org = os.getenv("WRK_ORG")
local repos = tonumber(os.getenv("WRK_REPOS"))
local offset = tonumber(os.getenv("WRK_OFFSET") or "0")
local counter = 0
local thread_index = 0
local threads = 0

function setup(thread)
  thread:set("thread_index", threads)
  threads = threads + 1
end

function init(args)
  counter = thread_index * 7919
end

function request()
  counter = counter + 1
  local repo = string.format("r%06d", (counter + offset) % repos)
  local headers = { [name] = value, ["Content-Type"] = "application/json" }
  return wrk.format("POST", "/api/v3/organizations/" .. org .. "/repositories/" .. repo .. "/tokens", headers, "{}")
end

function response(status, headers, body)
  if status ~= 201 and not reported then
    reported = true
    io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
  end
end
