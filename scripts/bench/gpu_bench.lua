-- GPU training-step benchmark (forward + cross_entropy + backward + SGD step, float32 on
-- cuda); compare with gpu_bench.py (PyTorch on the same GPU). scripts/gpu/run.sh runs both
-- and writes the ratios into RESULTS.md's gpu section.
-- Usage: build-cuda/nnlua scripts/bench/gpu_bench.lua   (prints "name ms_per_step" lines)
assert(torch.cuda.is_available(), "gpu_bench: no GPU visible")
local L = dofile("scripts/models/lenet.lua")
local R = dofile("scripts/models/resnet.lua")
local P = dofile("scripts/models/mlp.lua")
local dev = "cuda"
local cases = {
  { "lenet128", function() return L.Net() end, { 128, 1, 32, 32 }, 50 },
  { "resnet18_64", function() return R.resnet18({ num_classes = 10 }) end, { 64, 3, 32, 32 }, 10 },
  { "mlp1024", function() return P.NeuralNetwork() end, { 1024, 1, 28, 28 }, 50 },
}
for _, c in ipairs(cases) do
  torch.manual_seed(0)
  local m = c[2]():to(dev)
  m:train()
  local opt = optim.SGD(m:parameters(), { lr = 0.01, momentum = 0.9 })
  local x = torch.randn(c[3]):to(dev)
  local y = torch.randint(1, 11, { c[3][1] }):to(dev)
  local function step()
    opt:zero_grad()
    local loss = nn.functional.cross_entropy(m(x), y)
    loss:backward()
    opt:step()
  end
  for _ = 1, 3 do step() end -- warm up (cuBLAS handle, allocator cache)
  torch.cuda.synchronize()
  local t0 = torch.time()
  for _ = 1, c[4] do step() end
  torch.cuda.synchronize()
  print(string.format("%s %.4f", c[1], (torch.time() - t0) / c[4] * 1e3))
end
