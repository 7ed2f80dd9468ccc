-- Numeric parity of the main job with PyTorch, the nnlua side (see parity_fashion.py).
--
--   build/nnlua scripts/bench/parity_fashion.lua DIR [--threads 1]
--
-- Reads DIR/ref.safetensors (PyTorch's initial weights, image order, per-step losses, final
-- weights, test accuracy), trains train_fashion_mnist.lua's CNN from the same weights on the
-- same batches (ToTensor + Normalize(0.5, 0.5), CrossEntropyLoss, SGD lr 0.01 momentum 0.9) and
-- prints how far the two runs are apart: per-step loss differences, final weights, accuracy.
local dir = arg[1] or error("usage: parity_fashion.lua DIR [--threads N]")
if arg[2] == "--threads" then torch.set_num_threads(tonumber(arg[3])) end
local ref = torch.load(dir .. "/ref.safetensors")
local epochs, steps, bs = table.unpack(ref.config:tolist())

local Net = dofile((arg[0]:match("^(.*)/") or ".") .. "/../models/lenet.lua").FashionNet -- the main job's CNN

local model = Net()
local init, final = {}, {}
for k, v in pairs(ref) do
  local name = k:match("^init%.(.*)")
  if name then init[name] = v end
  name = k:match("^final%.(.*)")
  if name then final[name] = v end
end
model:load_state_dict(init)
local criterion = nn.CrossEntropyLoss()
local optimizer = optim.SGD(model:parameters(), { lr = 0.01, momentum = 0.9 })
local FM = data.datasets.FashionMNIST
local train, test = FM { train = true }, FM { train = false }
local n = #train
local function batch(ds, idx) -- idx: 1-based int64
  local x = ds.data:index_select(1, idx):float():div(255):sub(0.5):div(0.5):unsqueeze(2)
  return x, ds.targets:index_select(1, idx)
end

local order = ref.order:add(1) -- 1-based
local rl = ref.losses:tolist()
local losses = {}
local nb = (n + bs - 1) // bs
local t0 = torch.time()
for e = 1, epochs do
  for b = 1, nb do
    if #losses >= steps then break end
    local lo = (e - 1) * n + (b - 1) * bs
    local idx = order:narrow(1, lo + 1, math.min(bs, n - (b - 1) * bs))
    local x, y = batch(train, idx)
    optimizer:zero_grad()
    local loss = criterion(model(x), y)
    loss:backward()
    optimizer:step()
    losses[#losses + 1] = loss:item()
  end
end
local train_s = torch.time() - t0

local correct = 0
torch.no_grad(function()
  for s = 1, #test, 1000 do
    local x, y = batch(test, torch.arange(s, math.min(s + 999, #test) + 1, { dtype = "int64" }))
    local _, p = torch.max(model(x), 2)
    correct = correct + p:eq(y):sum():item()
  end
end)
local acc = 100 * correct / #test

local function rel_stats(upto)
  local mx, at, sum = 0, 0, 0
  for i = 1, math.min(upto, #losses) do
    local r = math.abs(losses[i] - rl[i]) / math.abs(rl[i])
    sum = sum + r
    if r > mx then mx, at = r, i end
  end
  return mx, at, sum / math.min(upto, #losses)
end
print(string.format("%d steps (%d epoch(s), batch %d) in %.1f s", #losses, epochs, bs, train_s))
for _, upto in ipairs({ 10, 100, 300, 1000, #losses }) do
  if upto <= #losses then
    local mx, at, mean = rel_stats(upto)
    print(string.format("loss, steps 1..%4d: max rel. diff %.2e (step %d), mean rel. diff %.2e", upto, mx, at, mean))
  end
end
local function window_mean(t, a, b)
  local s = 0
  for i = a, b do s = s + t[i] end
  return s / (b - a + 1)
end
local m = #losses
print(string.format("mean loss of the last 100 steps: nnlua %.4f, PyTorch %.4f", window_mean(losses, m - 99, m),
  window_mean(rl, m - 99, m)))
local names = {}
for k in pairs(final) do names[#names + 1] = k end
table.sort(names)
local sd = model:state_dict()
for _, k in ipairs(names) do
  local a, r = sd[k], final[k]
  local d = (a - r):abs():max():item() / r:abs():max():item()
  local dn = (a - r):norm():item() / r:norm():item()
  print(string.format("final %-12s max|diff|/max|ref| %.2e, ||diff||/||ref|| %.2e", k, d, dn))
end
print(string.format("test accuracy: nnlua %.2f %%, PyTorch %.2f %% (difference %+.2f points)", acc,
  ref.accuracy:item(), acc - ref.accuracy:item()))
