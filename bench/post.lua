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
  table.insert(threads, thread)
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
