-- wrk script for scripts/bench-server.sh: POST /verify with the next fixture body, so
-- every request carries a distinct, fresh code.
local bodies = {}
for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
local i = 0
local threads = 0
function setup(thread) thread:set("offset", threads) threads = threads + 1 end
function init(args) i = offset * math.floor(#bodies / 2) end
function request()
  i = i + 1
  return wrk.format("POST", "/verify", { ["Content-Type"] = "application/json" }, bodies[(i % #bodies) + 1])
end
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d seconds=%.3f p50_us=%d p99_us=%d errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
