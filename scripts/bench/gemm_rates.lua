-- gemm_rates.lua: float32 matmul rates (GFLOP/s) on the shapes of issue 8, nnlua side (twin:
-- gemm_rates.py). Prints "MxKxN gflops" per shape: the best of ROUNDS rounds of ~0.2 s, with
-- out= (no allocation in the loop). NNLUA_GEMM=openblas times OpenBLAS through the same path.
--   nnlua scripts/bench/gemm_rates.lua [THREADS] [ROUNDS]
if arg[1] then torch.set_num_threads(math.tointeger(tonumber(arg[1]))) end
local rounds = math.tointeger(tonumber(arg[2] or "")) or 5
torch.manual_seed(0)
local shapes = {{64, 784, 512}, {64, 512, 512}, {1024, 1024, 1024}, {6, 75, 784}, {16, 150, 100}}
for _, s in ipairs(shapes) do
  local M, K, N = s[1], s[2], s[3]
  local a, b, c = torch.randn({M, K}), torch.randn({K, N}), torch.empty({M, N})
  local flops = 2 * M * K * N
  local n = math.max(1, math.floor(0.2 * 100e9 / flops))
  torch.matmul(a, b, {out = c})
  local best = math.huge
  for _ = 1, rounds do
    local t0 = torch.time()
    for _ = 1, n do torch.matmul(a, b, {out = c}) end
    best = math.min(best, (torch.time() - t0) / n)
  end
  print(string.format("%dx%dx%d %.1f", M, K, N, flops / best / 1e9))
end
