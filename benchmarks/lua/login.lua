-- POST /api/auth/login as BENCH_EMAIL with BENCH_PASSWORD: the same body on every request.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format(
   '{"email":%s,"password":%s}',
   json_string(os.getenv("BENCH_EMAIL") or ""),
   json_string(os.getenv("BENCH_PASSWORD") or "")
)
