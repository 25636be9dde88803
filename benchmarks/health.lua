-- wrk script: each request is one agent's health report, cycling through the enrolled credentials.
-- Sequence numbers are unique per thread and request, so every report is stored (none is a duplicate).
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  creds = {}
  for line in io.lines(args[1]) do
    if #line > 0 then table.insert(creds, line) end
  end
  n = 0
  base = tid * 1000000000
end

function request()
  n = n + 1
  local cred = creds[(n % #creds) + 1]
  local body = string.format(
    '{"seq":%d,"agent_time":%d,"interface":"wg0","listen_port":51820,' ..
    '"peers":[{"public_key":"YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=","endpoint":"203.0.113.1:51820",' ..
    '"latest_handshake":%d,"rx_bytes":123456,"tx_bytes":654321}],' ..
    '"forwarding":true,"firewall":"active","service":"active",' ..
    '"checks":[{"name":"forwarding","ok":true},{"name":"firewall","ok":true},{"name":"handshake","ok":true}]}',
    base + n, os.time(), os.time())
  return wrk.format("POST", "/v1/health",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. cred}, body)
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT requests=%d seconds=%.3f p50_ms=%.2f p99_ms=%.2f errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
