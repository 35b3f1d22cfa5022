-- benchmarks/http_pages.py's requests for wrk. Arguments (after "--"):
--   1 path, with {id} for an invoice id       2 comma-separated invoice ids
--   3 body, with {key} for a new UUID ("" for a GET)   4 run id (8 hex digits)
--   5 headers, "Name: value" lines
-- done() prints one JSON line: requests, seconds, errors, latency percentiles (ms).

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local path, ids, body, run, counter = nil, {}, "", "00000000", 0
-- Headers whose value holds {key} (the API's Idempotency-Key) get the request's key.
local keyed = {}

function init(args)
  path, body, run = args[1], args[3], args[4]
  for id in string.gmatch(args[2], "[^,]+") do
    table.insert(ids, id)
  end
  for name, value in string.gmatch(args[5] or "", "([^:\n]+): ([^\n]*)") do
    if string.find(value, "{key}", 1, true) then
      keyed[name] = value
    else
      wrk.headers[name] = value
    end
  end
  math.randomseed(tonumber(run, 16) + tid * 7919)
end

function request()
  counter = counter + 1
  local target = string.gsub(path, "{id}", ids[math.random(#ids)])
  if body == "" then
    return wrk.format("GET", target)
  end
  -- A new idempotency key each time, as each opening of the form has its own.
  local key = string.format("%s-%04x-4000-8000-%012x", run, tid, counter)
  local headers = nil
  if next(keyed) ~= nil then
    headers = {}
    for name, value in pairs(wrk.headers) do
      headers[name] = value
    end
    for name, value in pairs(keyed) do
      headers[name] = (string.gsub(value, "{key}", key))
    end
  end
  return wrk.format("POST", target, headers, (string.gsub(body, "{key}", key)))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.6f, "errors": %d, "status_errors": %d,'
      .. ' "p50": %.3f, "p95": %.3f, "p99": %.3f, "mean": %.3f}\n',
    summary.requests, summary.duration / 1e6,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.mean / 1000))
end
