-- POST /api/contacts with a new contact per request. Emails are unique per owner, so each one
-- carries the run's id (BENCH_RUN_ID: a warm-up and the measured run differ), the thread's id
-- and the thread's own request counter.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")

authorize_from_env()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local last_names = { "Hopper", "Lovelace", "Turing", "Liskov", "Knuth", "Hamilton" }
local run_id = os.getenv("BENCH_RUN_ID") or "run"
local sent = 0

function request()
   sent = sent + 1
   local body = string.format(
      '{"first_name":"Bench","last_name":"%s","email":"bench.%s.t%d.n%d@example.net",'
         .. '"phone":"+1 555 010 %04d","birthday":"1990-05-17","notes":"Created by the benchmark"}',
      last_names[sent % #last_names + 1], run_id, id, sent, sent % 10000
   )
   return wrk.format(nil, nil, nil, body)
end
