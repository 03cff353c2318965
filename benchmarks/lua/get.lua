-- GET the URL given to wrk, with the bearer token from BENCH_TOKEN when there is one.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")

authorize_from_env()
