-- PATCH the contacts of BENCH_CONTACT_IDS (comma-separated) in turn, each request a new note.
-- With BENCH_IF_MATCH=1 every request carries If-Match with the ETag of that contact's last
-- answer: the conditional write. Answers may come back in any order across connections, so each
-- request names its contact in X-Request-ID, which the service echoes, and the answer's ETag
-- (a 200's, or a 412's current one) is filed under it.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")

authorize_from_env()
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"

local ids = {}
for contact in (os.getenv("BENCH_CONTACT_IDS") or ""):gmatch("[^,]+") do
   table.insert(ids, contact)
end
local conditional = os.getenv("BENCH_IF_MATCH") == "1"
local etags = {}
local sent = 0

function request()
   sent = sent + 1
   local contact = ids[sent % #ids + 1]
   local headers = {}
   for name, value in pairs(wrk.headers) do
      headers[name] = value
   end
   headers["X-Request-ID"] = string.format("%s.%d", contact, sent)
   if conditional then
      headers["If-Match"] = etags[contact] or "*"
   end
   return wrk.format(nil, "/api/contacts/" .. contact, headers, string.format('{"notes":"note %d"}', sent))
end

local count = response
function response(status, headers, body)
   count(status, headers, body)
   local request_id = headers["X-Request-ID"] or headers["x-request-id"]
   local etag = headers["ETag"] or headers["etag"]
   if request_id and etag then
      etags[request_id:match("^([^.]+)")] = etag
   end
end
