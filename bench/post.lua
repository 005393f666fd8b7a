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

-- With $BENCH_TEMPLATE (scenario f), every request imports $BENCH_IMPORT_ROWS rows that
-- no request sent before: the template's "__ROWS__" becomes fresh rows.
local template_file = os.getenv("BENCH_TEMPLATE")
if template_file then
  local f = assert(io.open(template_file, "r"))
  local template = f:read("*a")
  f:close()
  local before, after = template:match('^(.*)"__ROWS__"(.*)$')
  local rows = tonumber(os.getenv("BENCH_IMPORT_ROWS") or "1000")
  -- The warm-up and the timed run are separate wrk processes: the time keeps them apart.
  local run = (os.getenv("BENCH_RUN") or "") .. os.time()
  local sent = 0
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
