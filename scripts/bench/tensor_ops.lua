-- tensor_ops.lua: the tensor-library micro benchmarks, nnlua side (twin: tensor_ops.py).
-- Prints one line per workload: "name seconds_per_call" (median over rounds).
-- Usage: nnlua scripts/bench/tensor_ops.lua [rounds]
local rounds = tonumber(arg and arg[1]) or 5
torch.manual_seed(0)

local function bench(name, fn, target_s)
  fn() -- warm up (allocator caches, page faults)
  -- calibrate the number of calls per round to about target_s seconds
  local n, t0 = 1, torch.time()
  while true do
    for _ = 1, n do fn() end
    local dt = torch.time() - t0
    if dt > (target_s or 0.05) then break end
    n, t0 = n * 2, torch.time()
  end
  local times = {}
  for r = 1, rounds do
    local s = torch.time()
    for _ = 1, n do fn() end
    times[r] = (torch.time() - s) / n
  end
  table.sort(times)
  print(string.format("%s %.9g", name, times[(rounds + 1) // 2]))
end

local small_a, small_b = torch.rand(1000), torch.rand(1000)
local big_a, big_b = torch.rand(10000000), torch.rand(10000000)
local tiny_a, tiny_b = torch.rand(4), torch.rand(4)
local sq = torch.rand(1000, 1000)
local logits = torch.randn(64, 1000)
local x, w = torch.randn(64, 784), torch.randn(784, 512)
local m1, m2 = torch.randn(1024, 1024), torch.randn(1024, 1024)

bench("add_4", function() return tiny_a + tiny_b end)
bench("add_1e3", function() return small_a + small_b end)
bench("mul_1e3", function() return small_a * small_b end)
bench("exp_1e3", function() return small_a:exp() end)
bench("add_1e7", function() return big_a + big_b end)
bench("mul_1e7", function() return big_a * big_b end)
bench("exp_1e7", function() return big_a:exp() end)
bench("sum_dim1_1000x1000", function() return sq:sum(1) end)
bench("sum_dim2_1000x1000", function() return sq:sum(2) end)
bench("softmax_64x1000", function() return logits:softmax(2) end)
bench("matmul_64x784x512", function() return x:matmul(w) end)
bench("matmul_1024", function() return m1:matmul(m2) end, 0.3)
