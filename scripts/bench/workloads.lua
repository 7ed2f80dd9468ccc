-- workloads.lua: whole training steps of the seed workloads, nnlua side (twin: workloads.py).
-- One step = zero_grad, forward, loss, backward, optimizer step, on a fixed synthetic batch.
-- Prints "name seconds_per_step peak_rss_kb cpu_seconds_per_step": the median over rounds of
-- the mean wall time of a step in a round, after warm-up; the process's peak RSS (VmHWM) at the
-- end; the median process CPU time per step (all threads: robust to a loaded machine).
--   nnlua scripts/bench/workloads.lua NAME [STEPS_PER_ROUND] [ROUNDS] [THREADS]
-- NAME: xor lenet4 lenet128 mlp64 mlp64adam resnet18 (startup is timed by bench.sh).
local name = arg and arg[1] or error("usage: workloads.lua NAME [STEPS] [ROUNDS] [THREADS]")
local steps = math.tointeger(tonumber(arg[2] or "")) or 20
local rounds = math.tointeger(tonumber(arg[3] or "")) or 5
if arg[4] then torch.set_num_threads(math.tointeger(tonumber(arg[4]))) end
torch.manual_seed(0)

local function lenet(batch)
  local net = dofile("scripts/models/lenet.lua").CifarNet()
  return {
    model = net, loss = nn.CrossEntropyLoss(),
    opt = optim.SGD(net:parameters(), { lr = 0.001, momentum = 0.9 }),
    x = torch.randn(batch, 3, 32, 32), y = torch.randint(1, 11, { batch }),
  }
end
local function mlp(adam)
  local net = dofile("scripts/models/mlp.lua").NeuralNetwork()
  return {
    model = net, loss = nn.CrossEntropyLoss(),
    opt = adam and optim.Adam(net:parameters(), { lr = 1e-3 }) or optim.SGD(net:parameters(), { lr = 1e-3 }),
    x = torch.rand(64, 1, 28, 28), y = torch.randint(1, 11, { 64 }),
  }
end

local W = {}
-- seed 001: Linear(2,4) Sigmoid Linear(4,2) Sigmoid Linear(2,2), CrossEntropy, SGD lr 0.7
function W.xor()
  local net = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 2), nn.Sigmoid(), nn.Linear(2, 2))
  return {
    model = net, loss = nn.CrossEntropyLoss(), opt = optim.SGD(net:parameters(), { lr = 0.7 }),
    x = torch.tensor({ { 0, 0 }, { 1, 0 }, { 0, 1 }, { 1, 1 } }, { dtype = torch.float32 }),
    y = torch.tensor({ 1, 2, 2, 1 }, { dtype = torch.int64 }),
  }
end
function W.lenet4() return lenet(4) end
function W.lenet128() return lenet(128) end
function W.mlp64() return mlp(false) end
function W.mlp64adam() return mlp(true) end
-- seed 004: torchvision resnet18 (1000 classes), batch 8 of 3x64x64, SGD lr 0.001 momentum 0.9
function W.resnet18()
  local net = dofile("scripts/models/resnet.lua").resnet18()
  return {
    model = net, loss = nn.CrossEntropyLoss(),
    opt = optim.SGD(net:parameters(), { lr = 0.001, momentum = 0.9 }),
    x = torch.randn(8, 3, 64, 64), y = torch.randint(1, 1001, { 8 }),
  }
end

local w = (W[name] or error("workloads.lua: unknown workload " .. tostring(name)))()
local model, crit, opt, x, y = w.model, w.loss, w.opt, w.x, w.y

local function step()
  opt:zero_grad()
  local loss = crit(model(x), y)
  loss:backward()
  opt:step()
  return loss
end

for _ = 1, math.max(3, steps // 5) do step() end -- warm-up: caches, momentum buffers
local times, cpu = {}, {}
for r = 1, rounds do
  collectgarbage()
  local t0, c0 = torch.time(), os.clock()
  for _ = 1, steps do step() end
  times[r], cpu[r] = (torch.time() - t0) / steps, (os.clock() - c0) / steps
end
table.sort(times)
table.sort(cpu)

local function peak_rss_kb()
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  local s = f:read("a"); f:close()
  return tonumber(s:match("VmHWM:%s*(%d+)")) or 0
end
print(string.format("%s %.9g %d %.9g", name, times[(rounds + 1) // 2], peak_rss_kb(), cpu[(rounds + 1) // 2]))
