-- Numeric parity of the main job (scripts/train_fashion_mnist.lua) with PyTorch 1.13: from
-- PyTorch's initial weights, 40 SGD steps of the same CNN on the same 8 real Fashion-MNIST
-- batches (spec/fixtures/gen_fashion_parity.py) must give the same per-step losses and final
-- weights to float32 rounding, and each plausible recipe difference (momentum, dampening,
-- Nesterov, Normalize, init, lr) must break that tolerance. The batches go through the main
-- job's data path: IDX files read by data.datasets.FashionMNIST, ToTensor + Normalize, DataLoader.
local fx = torch.load("spec/fixtures/parity/fashion.safetensors")
local BS, STEPS = 16, fx.losses:size(1)
-- measured on x86_64 (OpenBLAS, AVX-512): 2.1e-7 and 1.6e-7 (float32 summation order); the
-- smallest perturbation below (lr 0.0099) moves them to 4.7e-4 and 1.5e-2
local LOSS_RTOL = 1e-5 -- max |loss - ref| / |ref| over the 40 steps
local WEIGHT_RTOL = 2e-5 -- max |diff| / max |ref| per tensor of the final state_dict

local Net = dofile("scripts/models/lenet.lua").FashionNet -- the main job's CNN

local function prefixed(p)
  local out = {}
  for k, v in pairs(fx) do
    local name = k:match("^" .. p .. "%.(.*)")
    if name then out[name] = v end
  end
  return out
end
local INIT, FINAL = prefixed("init"), prefixed("final")

-- the fixture's images and labels as IDX files (big-endian header, then the bytes)
local function write_idx(path, magic, dims, t)
  local f = assert(io.open(path, "wb"))
  local function be32(v) return string.char(v >> 24 & 255, v >> 16 & 255, v >> 8 & 255, v & 255) end
  f:write(be32(magic))
  for _, d in ipairs(dims) do f:write(be32(d)) end
  local vals = t:reshape(-1):tolist()
  for i = 1, #vals, 4096 do f:write(string.char(table.unpack(vals, i, math.min(i + 4095, #vals)))) end
  f:close()
end
local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)
local n = fx.images:size(1)
write_idx(dir .. "/train-images-idx3-ubyte", 2051, { n, 28, 28 }, fx.images)
write_idx(dir .. "/train-labels-idx1-ubyte", 2049, { n }, fx.labels:to("uint8"))

local function loader(normalize)
  local T = data.transforms
  local ds = data.datasets.FashionMNIST { root = dir, train = true,
    transform = T.Compose { T.ToTensor(), normalize and T.Normalize({ 0.5 }, { 0.5 }) or nil } }
  return data.DataLoader(ds, { batch_size = BS, shuffle = false })
end

-- o: momentum, dampening, nesterov, lr, normalize, own_init, tweak(model)
local function train(o)
  o = o or {}
  torch.manual_seed(0)
  local model = Net()
  if not o.own_init then model:load_state_dict(INIT) end
  if o.tweak then o.tweak(model) end
  local opt = optim.SGD(model:parameters(), { lr = o.lr or 0.01, momentum = o.momentum or 0.9,
    dampening = o.dampening or 0, nesterov = o.nesterov or false })
  local criterion = nn.CrossEntropyLoss()
  local dl = loader(o.normalize ~= false)
  local losses = {}
  while #losses < STEPS do
    for _, x, y in dl:iter() do
      if #losses == STEPS then break end
      opt:zero_grad()
      local loss = criterion(model(x), y)
      loss:backward()
      opt:step()
      losses[#losses + 1] = loss:item()
    end
  end
  return losses, model:state_dict()
end

local REF = fx.losses:tolist()
local function loss_rel(losses)
  local mx = 0
  for i = 1, STEPS do mx = math.max(mx, math.abs(losses[i] - REF[i]) / math.abs(REF[i])) end
  return mx
end
local function weight_rel(sd)
  local mx, at = 0, nil
  for k, r in pairs(FINAL) do
    local d = (sd[k] - r):abs():max():item() / r:abs():max():item()
    if d > mx then mx, at = d, k end
  end
  return mx, at
end

describe("Fashion-MNIST main job vs PyTorch", function()
  teardown(function() os.execute("rm -rf " .. dir) end)

  it("the fixture's batches read back through FashionMNIST + DataLoader as PyTorch made them", function()
    local _, x, y = loader(true):iter()()
    local want = fx.images:narrow(1, 1, BS):float():div(255):sub(0.5):div(0.5):unsqueeze(2)
    assert.are.same({ BS, 1, 28, 28 }, x:size())
    assert.are.equal(0, (x - want):abs():max():item())
    assert.are.same(fx.labels:narrow(1, 1, BS):add(1):tolist(), y:tolist())
    assert.is_true(x:min():item() >= -1 and x:max():item() <= 1 and x:min():item() < -0.99)
  end)

  it("per-step losses and final weights match PyTorch's from the same initial weights", function()
    local losses, sd = train()
    local lr = loss_rel(losses)
    local wr, at = weight_rel(sd)
    assert.is_true(lr < LOSS_RTOL, string.format("max rel. loss difference %.3g", lr))
    assert.is_true(wr < WEIGHT_RTOL, string.format("final weights: %s differs by %.3g", tostring(at), wr))
    assert.is_true(REF[STEPS] < REF[1]) -- it trained
  end)

  -- each of these is a real recipe difference: the comparison above must see it
  local perturbed = {
    { "momentum 0.89", { momentum = 0.89 } },
    { "dampening 0.1", { dampening = 0.1 } },
    { "Nesterov momentum", { nesterov = true } },
    { "lr 0.0099", { lr = 0.0099 } },
    { "no Normalize (inputs in [0, 1])", { normalize = false } },
    { "nnlua's own initial weights", { own_init = true } },
    { "fc3's bias zeroed", { tweak = function(m) torch.no_grad(function() m.fc3.bias:zero_() end) end } },
    { "conv1's weight scaled by 1.01", { tweak = function(m) torch.no_grad(function() m.conv1.weight:mul_(1.01) end) end } },
  }
  for _, case in ipairs(perturbed) do
    it("detects a recipe difference: " .. case[1], function()
      local losses, sd = train(case[2])
      local lr, wr = loss_rel(losses), weight_rel(sd)
      -- the loss curve alone sees it, and so do the final weights, each by 10x the tolerance
      assert.is_true(lr > 10 * LOSS_RTOL, string.format("%s: loss differs by only %.3g", case[1], lr))
      assert.is_true(wr > 10 * WEIGHT_RTOL, string.format("%s: weights differ by only %.3g", case[1], wr))
    end)
  end

  it("nnlua's own Conv2d/Linear init draws from PyTorch's U(-1/sqrt(fan_in), 1/sqrt(fan_in))", function()
    torch.manual_seed(1)
    local sd = Net():state_dict()
    local bounds = fx.bounds:tolist()
    local names = { "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias",
      "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias" }
    local pooled = {} -- weight and bias values scaled by their bound: U(-1, 1) when the init matches
    for k, name in ipairs(names) do
      local w, b = sd[name], bounds[k]
      assert.is_true(w:abs():max():item() <= b * (1 + 1e-6), name .. " exceeds its bound")
      if w:numel() >= 800 then
        local sd_ = w:std():item()
        assert.is_true(math.abs(sd_ / (b / math.sqrt(3)) - 1) < 0.05,
          string.format("%s: std %.4g, want %.4g", name, sd_, b / math.sqrt(3)))
        assert.is_true(w:abs():max():item() > 0.99 * b, name .. " does not reach its bound")
      end
      pooled[#pooled + 1] = w:reshape(-1) / b
    end
    local all = torch.cat(pooled)
    assert.is_true(math.abs(all:mean():item()) < 0.02)
    assert.is_true(math.abs(all:std():item() - 1 / math.sqrt(3)) < 0.01)
  end)
end)
