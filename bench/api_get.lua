-- wrk script for the HTTP presence API (docs/api.md): every request reads the presence of a
-- random user of user0000..user<N-1>@DOMAIN (the names bench/sipp/make_users.py writes), or,
-- with BATCH > 0, a batch GET /api/v1/presence?addresses=... of BATCH random users.
--
--   wrk -t1 -c50 -d10s --latency -s bench/api_get.lua http://127.0.0.1:PORT -- TOKEN N [BATCH] [DOMAIN]
--
-- done() prints one machine-readable line after wrk's own report:
--   api_get requests=R duration_us=D rps=X p50_us=A p99_us=B max_us=C non2xx=S sock_errors=E
-- non2xx counts answers with status > 399 (wrk's errors.status): any is a failed run.
-- No response() callback: defining one makes wrk parse every body, which costs the load
-- generator CPU that the server under test should get.

local token, users, batch, domain, width
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end

function init(args)
  token = args[1]
  users = tonumber(args[2])
  batch = tonumber(args[3] or "0")
  domain = args[4] or "sip.localhost"
  if not token or not users or users < 1 or not batch then
    error("usage: wrk ... -s api_get.lua URL -- TOKEN N [BATCH] [DOMAIN]")
  end
  -- make_users.py: user<k> zero-padded to max(4, digits of N-1)
  width = math.max(4, #tostring(users - 1))
  -- each thread draws its own sequence (wrk runs one Lua state per thread)
  math.randomseed(os.time() * 1000 + id)
end

local function user()
  return string.format("user%0" .. width .. "d@%s", math.random(0, users - 1), domain)
end

function request()
  local path
  if batch > 0 then
    local list = {}
    for i = 1, batch do list[i] = user() end
    path = "/api/v1/presence?addresses=" .. table.concat(list, ",")
  else
    path = "/api/v1/presence/" .. user()
  end
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "api_get requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d non2xx=%d sock_errors=%d\n",
    summary.requests, summary.duration, summary.requests * 1e6 / summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max, e.status,
    e.connect + e.read + e.write + e.timeout))
end
