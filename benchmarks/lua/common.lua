-- Loaded by every benchmark script: per-thread status counts and the one result line that
-- benchmarks/wrk.py parses. wrk runs each thread in its own Lua state, so the counters are
-- globals of each thread's state, read back through the thread handles collected in setup().

local threads = {}

function setup(thread)
   -- The id makes request bodies unique across threads (see create_contact.lua).
   thread:set("id", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   responses = 0
   non_2xx = 0
end

function response(status, headers, body)
   responses = responses + 1
   if status < 200 or status > 299 then
      non_2xx = non_2xx + 1
   end
end

function authorize_from_env()
   local token = os.getenv("BENCH_TOKEN")
   if token and token ~= "" then
      wrk.headers["Authorization"] = "Bearer " .. token
   end
end

function json_string(value)
   local escaped = value:gsub('[%c"\\]', function(char)
      return string.format("\\u%04x", string.byte(char))
   end)
   return '"' .. escaped .. '"'
end

function done(summary, latency, requests)
   local counted, failed = 0, 0
   for _, thread in ipairs(threads) do
      counted = counted + thread:get("responses")
      failed = failed + thread:get("non_2xx")
   end
   local errors = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format(
      'BENCH_RESULT {"threads":%d,"requests":%d,"responses_counted":%d,"duration_us":%d,'
         .. '"requests_per_second":%.3f,"latency_p50_us":%d,"latency_p99_us":%d,"non_2xx":%d,'
         .. '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}}\n',
      #threads, summary.requests, counted, summary.duration,
      summary.requests / seconds, latency:percentile(50), latency:percentile(99), failed,
      errors.connect, errors.read, errors.write, errors.timeout
   ))
end
