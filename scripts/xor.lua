-- Seed 001 ("Training a Neural Network", section "XOR 문제 학습하기" + "모델 사용하기"), line for line:
-- the XOR network (Linear(2,4) Sigmoid Linear(4,2) Sigmoid Linear(2,2)), CrossEntropyLoss,
-- SGD(lr=0.7), 10,000 steps on the four XOR points, the best-loss state_dict saved with
-- torch.save during training, then a fresh model reloaded from the file and its predictions.
--
--   build/nnlua scripts/xor.lua [--steps N] [--out FILE]
--
-- Classes: the seed's targets are LongTensor([0, 1, 1, 0]) (class 0 = "XOR is 0", class 1 =
-- "XOR is 1"). nnlua's class labels are 1-based (API.md), so the same targets are {1, 2, 2, 1}
-- and argmax returns 1-based classes: the seed's predictions 0 1 1 0 print here as 1 2 2 1
-- (nnlua class k = the seed's class k-1 = the XOR value k-1).

-- The checkpoint goes to tmpfs (/dev/shm) when there is one: torch.save writes atomically
-- (fsync + rename) and the best loss improves on almost every step, so on a disk the 10,000
-- fsyncs, not the training, would dominate the run time.
local function default_out()
  local tmp = os.tmpname()
  os.remove(tmp)
  local base = tmp:match("[^/]+$")
  local f = io.open("/dev/shm/" .. base, "wb")
  if f then f:close(); os.remove("/dev/shm/" .. base); return "/dev/shm/" .. base .. "_xor.safetensors" end
  return tmp .. "_xor.safetensors"
end

local function parse_args(argv)
  local o = { steps = 10000, out = default_out() }
  local i = 1
  while argv[i] do
    local a = argv[i]
    if a == "--steps" then o.steps = math.tointeger(tonumber(argv[i + 1])); i = i + 2
    elseif a == "--out" then o.out = argv[i + 1]; i = i + 2
    elseif a == "-h" or a == "--help" then
      print("usage: nnlua scripts/xor.lua [--steps N (10000)] [--out FILE (a temporary file)]"); os.exit(0)
    else error("xor.lua: unknown argument " .. tostring(a)) end
  end
  assert(o.steps and o.steps >= 1, "xor.lua: --steps needs a positive integer")
  return o
end
local opt = parse_args(arg or {})

-- torch.manual_seed(70)
torch.manual_seed(70)

-- class XOR(nn.Module): ...
local XOR = nn.Module:extend("XOR")
function XOR:__init()
  -- self.layers = nn.Sequential(...)
  self.layers = nn.Sequential(
    nn.Linear(2, 4), -- in_features, out_features
    nn.Sigmoid(),
    nn.Linear(4, 2),
    nn.Sigmoid(),
    nn.Linear(2, 2)
  )
end
function XOR:forward(x)
  local o = self.layers(x)
  return o
end
function XOR:predict(x)
  local o = self:forward(x)
  local y = torch.softmax(o, 2) -- dim=1 in PyTorch: dims are 1-based here
  return y
end

-- device = "cuda" if torch.cuda.is_available() else "cpu"
local device = torch.cuda.is_available() and "cuda" or "cpu"
local n_step = opt.steps -- 10000 in the seed

-- inputs = torch.FloatTensor([[0, 0], [1, 0], [0, 1], [1, 1]])
local inputs = torch.tensor({ { 0, 0 }, { 1, 0 }, { 0, 1 }, { 1, 1 } }, { dtype = torch.float32 })
-- targets = torch.LongTensor([0, 1, 1, 0])  -> classes 1..2 here
local targets = torch.tensor({ 1, 2, 2, 1 }, { dtype = torch.int64 })

local model = XOR():to(device)
local loss_function = nn.CrossEntropyLoss()
local optimizer = optim.SGD(model:parameters(), { lr = 0.7 })

inputs, targets = inputs:to(device), targets:to(device)

local best_loss = 999
for step = 0, n_step - 1 do -- for step in range(n_step)
  local train_loss = 0
  optimizer:zero_grad()
  local outputs = model(inputs)
  local loss = loss_function(outputs, targets)
  loss:backward()
  optimizer:step()
  train_loss = train_loss + loss:item()
  if train_loss < best_loss then
    best_loss = train_loss
    torch.save(model:state_dict(), opt.out) -- torch.save(model.state_dict(), "./xor.pt")
  end
  if step % 1000 == 0 then
    print(string.format("[%d] Loss: %.4f", step + 1, train_loss))
  end
end
print(string.format("best loss: %.6f", best_loss))

-- model.state_dict(): keys layers.1.weight ... layers.5.bias (Sequential children from 1;
-- the seed's layers.0 / layers.2 / layers.4 are layers.1 / layers.3 / layers.5 here)
local keys = {}
for k in pairs(model:state_dict()) do keys[#keys + 1] = k end
table.sort(keys)
print("state_dict keys: " .. table.concat(keys, " "))

-- inputs
print(inputs)

-- model = XOR(); model.load_state_dict(torch.load("./xor.pt", map_location="cuda"))
model = XOR()
model:load_state_dict(torch.load(opt.out, { map_location = "cpu" }))

local probs = model:predict(inputs:cpu())
print(probs)
local predicts = probs:argmax(2) -- probs.argmax(1): 1-based dim, 1-based classes
print(predicts)
for i = 1, probs:size(1) do -- for prob, pred in zip(probs, predicts)
  local prob, pred = probs[i], predicts[i]
  print(string.format("prob: %s\t predict %d", tostring(prob.data), pred:item()))
end
print("predictions: " .. table.concat(predicts:tolist(), " "))
-- the seed's form (0-based classes = the XOR value): subtract 1
print("XOR values (seed's 0/1 classes): " .. table.concat((predicts - 1):tolist(), " "))
os.remove(opt.out)
