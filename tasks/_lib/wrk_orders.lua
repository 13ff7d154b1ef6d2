-- wrk script for POST /orders: the original reproduction's body, one fresh
-- Idempotency-Key per request (thread id + counter), JSON content type.
--   wrk -t2 -c256 -d10s -s tasks/_lib/wrk_orders.lua http://127.0.0.1:8000/orders
-- Every non-200 answer is counted and printed at the end.

local threads = {}
local counter = 0
local tid = 0

function setup(thread)
  tid = tid + 1
  thread:set("tid", tid)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
  prefix = "wrk-" .. tostring(os.time()) .. "-" .. tostring(tid) .. "-"
end

function request()
  counter = counter + 1
  local body = '{"items":[{"menu_item_id":1,"quantity":2},{"menu_item_id":2,"quantity":1}],"notes":"wrk order ' .. counter .. '"}'
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = prefix .. counter,
  }, body)
end

function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("non200") end
  io.write(string.format("non-200 answers: %d\n", bad))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("p%g: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
