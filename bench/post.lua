-- wrk script: POST the GraphQL body in $BENCH_BODY with $BENCH_TOKEN, and count
-- responses carrying GraphQL errors (wrk itself only counts HTTP failures).
local file = assert(io.open(os.getenv("BENCH_BODY"), "r"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")

local threads = {}
function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

-- With $BENCH_TEMPLATE every request sends something no request sent before:
-- * "__ROWS__" (scenario f) becomes $BENCH_IMPORT_ROWS fresh rows to import;
-- * "__EVENT__" (the SQLite write scenarios) becomes one engagement event happening
--   now, with an external id of its own, on the next lead of $BENCH_EVENT_EMAILS.
local template_file = os.getenv("BENCH_TEMPLATE")
if template_file then
  local f = assert(io.open(template_file, "r"))
  local template = f:read("*a")
  f:close()
  -- The warm-up and the timed run are separate wrk processes: the time keeps them apart.
  local run = (os.getenv("BENCH_RUN") or "") .. os.time()
  local sent = 0
  local before, after = template:match('^(.*)"__ROWS__"(.*)$')
  if before then
    local rows = tonumber(os.getenv("BENCH_IMPORT_ROWS") or "1000")
    function request()
      sent = sent + 1
      local out = {}
      for i = 1, rows do
        local d = i % 97
        out[i] = string.format(
          '{"email":"f%d.%d.%d.%s@bench%d.example","firstName":"Bench","lastName":"Row%d","company":"Bench Co %d","domain":"bench%d.example","source":"bench"}',
          i, sent, thread_id, run, d, i, d, d)
      end
      return wrk.format(nil, nil, nil, before .. "[" .. table.concat(out, ",") .. "]" .. after)
    end
  else
    before, after = template:match('^(.*)"__EVENT__"(.*)$')
    assert(before, "the template has neither __ROWS__ nor __EVENT__")
    local emails = {}
    for email in string.gmatch(assert(os.getenv("BENCH_EVENT_EMAILS"), "BENCH_EVENT_EMAILS"), "[^,]+") do
      table.insert(emails, email)
    end
    function request()
      sent = sent + 1
      -- Threads start at different leads, so that clients spread from the first request.
      local email = emails[((sent + thread_id * 37) % #emails) + 1]
      local event = string.format(
        '{"leadEmail":"%s","kind":"WEB_VISIT","occurredAt":"%s","externalId":"b.%s.%d.%d","properties":{"page":"/pricing"}}',
        email, os.date("!%Y-%m-%dT%H:%M:%SZ"), run, thread_id, sent)
      return wrk.format(nil, nil, nil, before .. event .. after)
    end
  end
end

function init()
  graphql_errors = 0
end

function response(status, headers, body)
  if string.find(body, '"errors":[', 1, true) then
    graphql_errors = graphql_errors + 1
  end
end

function done(summary, latency, requests)
  local errors = 0
  for _, thread in ipairs(threads) do
    errors = errors + thread:get("graphql_errors")
  end
  io.write(string.format("BENCH rps=%.1f p50_ms=%.2f p99_ms=%.2f http_errors=%d graphql_errors=%d requests=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    errors, summary.requests))
end
