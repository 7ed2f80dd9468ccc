-- Seed 003 ("Torch.nn 튜토리얼", PyTorch's "What is torch.nn really?"), step by step: a
-- logistic-regression classifier written from scratch (manual weights, hand-written
-- log_softmax, nll and accuracy, a manual SGD loop), then refactored with nn.functional,
-- nn.Module + nn.Parameter, nn.Linear, optim, TensorDataset, DataLoader, and finally a
-- validation set with loss_batch / fit / get_data functions.
--
--   build/nnlua scripts/mnist_from_scratch.lua [--data DIR] [--limit N] [--epochs N]
--
-- Data: the seed downloads mnist.pkl.gz (50,000 training + 10,000 validation images,
-- flattened to 784 floats in [0, 1]). No network here: with --data DIR holding MNIST's IDX
-- files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]) the script reads them
-- with data.datasets.MNIST; otherwise it falls back to Fashion-MNIST (the same IDX format, in
-- /usr/share/datasets/fashion-mnist) and says so. The first 50,000 training images are
-- x_train, the next 10,000 x_valid (--limit N: N training and N/5 validation images).
-- Labels are 1..10 here (the seed's 0..9 plus one: nnlua class labels are 1-based).

local F = nn.functional

-- ---- options -------------------------------------------------------------------------------
local opt = { data = nil, limit = 50000, epochs = 2, lr = nil }
do
  local argv, i = arg or {}, 1
  while argv[i] do
    local a, v = argv[i], argv[i + 1]
    if a == "--data" then opt.data = v
    elseif a == "--limit" then opt.limit = math.tointeger(tonumber(v))
    elseif a == "--epochs" then opt.epochs = math.tointeger(tonumber(v))
    elseif a == "--lr" then opt.lr = tonumber(v)
    elseif a == "-h" or a == "--help" then
      print("usage: nnlua scripts/mnist_from_scratch.lua [--data MNIST_DIR] [--limit N (50000)] [--epochs N (2)]")
      os.exit(0)
    else error("mnist_from_scratch.lua: unknown argument " .. tostring(a)) end
    i = i + 2
  end
  assert(opt.limit and opt.limit >= 1 and opt.limit <= 50000, "--limit must be in 1..50000")
  assert(opt.epochs and opt.epochs >= 0, "--epochs must be a non-negative integer")
end

torch.manual_seed(0)

-- ---- MNIST data setup ----------------------------------------------------------------------
local ds
if opt.data then
  local ok, r = pcall(data.datasets.MNIST, { root = opt.data })
  if ok then
    ds = r
    print("data: MNIST from " .. opt.data)
  else
    print("data: no MNIST in " .. opt.data .. " (" .. tostring(r) .. ")")
  end
end
if not ds then
  ds = data.datasets.FashionMNIST { root = "/usr/share/datasets/fashion-mnist" }
  print("data: MNIST is not installable here: using Fashion-MNIST (same IDX format) from "
    .. "/usr/share/datasets/fashion-mnist; the numbers below are Fashion-MNIST's, not the seed's")
end

-- ((x_train, y_train), (x_valid, y_valid), _) = pickle.load(f): 784 floats in [0, 1]
local n_train, n_valid = opt.limit, math.max(1, opt.limit // 5)
local images = ds.data:float():div(255):view(-1, 784)
local x_train, y_train = images[{ { 1, n_train } }], ds.targets[{ { 1, n_train } }]
local x_valid, y_valid = images[{ { 50001, 50000 + n_valid } }], ds.targets[{ { 50001, 50000 + n_valid } }]

-- x_train, y_train, x_valid, y_valid = map(torch.tensor, ...): already tensors
local n, c = x_train.shape[1], x_train.shape[2] -- n, c = x_train.shape
print(x_train.shape, y_train:min(), y_train:max())

-- ---- Neural net from scratch (no torch.nn) -------------------------------------------------
print("\n== from scratch ==")
-- weights = torch.randn(784, 10) / math.sqrt(784); weights.requires_grad_()
local weights = torch.randn(784, 10) / math.sqrt(784)
weights:requires_grad_()
local bias = torch.zeros(10, { requires_grad = true })

-- log_softmax(x) = x - x.exp().sum(-1).log().unsqueeze(-1)
local function log_softmax(x)
  return x - x:exp():sum(-1):log():unsqueeze(-1)
end
local function model(xb)
  return log_softmax(xb:matmul(weights) + bias) -- xb @ weights + bias
end

local bs = 64                           -- batch size
local xb = x_train[{ { 1, bs } }]       -- x_train[0:bs]: a mini-batch (rows 1..64)
local preds = model(xb)                 -- predictions
print(preds[1], preds.shape)

-- nll(input, target) = -input[range(target.shape[0]), target].mean()
-- nnlua's t[{idx1, idx2}] with two index tensors indexes each dim on its own (an outer
-- product), not pairwise as PyTorch does, so the pairwise pick is a gather along dim 2.
local function nll(input, target)
  return -input:gather(2, target:unsqueeze(2)):mean()
end
local loss_func = nll

local yb = y_train[{ { 1, bs } }]
print(loss_func(preds, yb))

-- accuracy(out, yb) = (torch.argmax(out, dim=1) == yb).float().mean()
local function accuracy(out, yb_)
  local p = torch.argmax(out, 2)
  return p:eq(yb_):float():mean()
end
print(accuracy(preds, yb))

-- the training loop: for each mini-batch, predict, loss, backward, then update under no_grad
-- learning rate: the seed's 0.5 on MNIST; Fashion-MNIST's brighter images make 0.5 diverge
-- for this plain logistic regression, so the fallback uses 0.05 (--lr to choose)
local lr = opt.lr or (ds.__name == "MNIST" and 0.5 or 0.05)
print("lr = " .. lr)
local epochs = opt.epochs

-- (the seed's start_i = i + bs is a typo for i * bs; batch i covers rows i*bs+1 .. i*bs+bs)
local function batch(i)
  local start_i = i * bs + 1
  local end_i = math.min(start_i + bs - 1, n)
  return x_train[{ { start_i, end_i } }], y_train[{ { start_i, end_i } }]
end

for _ = 1, epochs do
  for i = 0, (n - 1) // bs do
    local xb_, yb_ = batch(i)
    local pred = model(xb_)
    local loss = loss_func(pred, yb_)
    loss:backward()
    torch.no_grad(function()
      weights:sub_(weights.grad * lr) -- weights -= weights.grad * lr
      bias:sub_(bias.grad * lr)
      weights.grad:zero_()
      bias.grad:zero_()
    end)
  end
end
xb, yb = x_train[{ { 1, bs } }], y_train[{ { 1, bs } }]
print("after training:", loss_func(model(xb), yb), accuracy(model(xb), yb))

-- ---- Using torch.nn.functional -------------------------------------------------------------
print("\n== nn.functional ==")
loss_func = F.cross_entropy -- log_softmax + nll in one
model = function(xb_) return xb_:matmul(weights) + bias end
print(loss_func(model(xb), yb), accuracy(model(xb), yb))

-- ---- Refactor using nn.Module --------------------------------------------------------------
print("\n== nn.Module ==")
local Mnist_Logistic = nn.Module:extend("Mnist_Logistic")
function Mnist_Logistic:__init()
  self.weights = nn.Parameter(torch.randn(784, 10) / math.sqrt(784))
  self.bias = nn.Parameter(torch.zeros(10))
end
function Mnist_Logistic:forward(xb_)
  return xb_:matmul(self.weights) + self.bias
end

model = Mnist_Logistic()
print(loss_func(model(xb), yb))

-- def fit(): the same loop, now over model.parameters()
local function fit()
  for _ = 1, epochs do
    for i = 0, (n - 1) // bs do
      local xb_, yb_ = batch(i)
      local pred = model(xb_)
      local loss = loss_func(pred, yb_)
      loss:backward()
      torch.no_grad(function()
        for _, p in ipairs(model:parameters()) do p:sub_(p.grad * lr) end -- p -= p.grad * lr
        model:zero_grad()
      end)
    end
  end
end
fit()
print(loss_func(model(xb), yb))

-- ---- Refactor using nn.Linear --------------------------------------------------------------
print("\n== nn.Linear ==")
Mnist_Logistic = nn.Module:extend("Mnist_Logistic")
function Mnist_Logistic:__init()
  self.lin = nn.Linear(784, 10)
end
function Mnist_Logistic:forward(xb_)
  return self.lin(xb_)
end
model = Mnist_Logistic()
print(model)
print(loss_func(model(xb), yb))
fit()
print(loss_func(model(xb), yb))

-- ---- Refactor using optim ------------------------------------------------------------------
print("\n== optim ==")
local function get_model()
  local m = Mnist_Logistic()
  return m, optim.SGD(m:parameters(), { lr = lr })
end

local opt_
model, opt_ = get_model()
print(loss_func(model(xb), yb))
for _ = 1, epochs do
  for i = 0, (n - 1) // bs do
    local xb_, yb_ = batch(i)
    local pred = model(xb_)
    local loss = loss_func(pred, yb_)
    loss:backward()
    opt_:step()
    opt_:zero_grad()
  end
end
print(loss_func(model(xb), yb))

-- ---- Refactor using Dataset ----------------------------------------------------------------
print("\n== TensorDataset ==")
local train_ds = data.TensorDataset(x_train, y_train)
model, opt_ = get_model()
for _ = 1, epochs do
  for i = 0, (n - 1) // bs do
    -- xb, yb = train_ds[i*bs : i*bs + bs]: an inclusive range of rows here
    xb, yb = train_ds:get({ i * bs + 1, math.min(i * bs + bs, n) })
    local pred = model(xb)
    local loss = loss_func(pred, yb)
    loss:backward()
    opt_:step()
    opt_:zero_grad()
  end
end
print(loss_func(model(xb), yb))

-- ---- Refactor using DataLoader -------------------------------------------------------------
print("\n== DataLoader ==")
local train_dl = data.DataLoader(train_ds, { batch_size = bs })
model, opt_ = get_model()
for _ = 1, epochs do
  for _, xb_, yb_ in train_dl:iter() do -- for xb, yb in train_dl
    local pred = model(xb_)
    local loss = loss_func(pred, yb_)
    loss:backward()
    opt_:step()
    opt_:zero_grad()
    xb, yb = xb_, yb_
  end
end
print(loss_func(model(xb), yb))

-- ---- Add validation ------------------------------------------------------------------------
print("\n== validation ==")
train_ds = data.TensorDataset(x_train, y_train)
train_dl = data.DataLoader(train_ds, { batch_size = bs, shuffle = true })
local valid_ds = data.TensorDataset(x_valid, y_valid)
local valid_dl = data.DataLoader(valid_ds, { batch_size = bs * 2 })

model, opt_ = get_model()
for epoch = 0, epochs - 1 do
  model:train()
  for _, xb_, yb_ in train_dl:iter() do
    local loss = loss_func(model(xb_), yb_)
    loss:backward()
    opt_:step()
    opt_:zero_grad()
  end
  model:eval()
  local valid_loss = torch.no_grad(function()
    local s = 0
    for _, xb_, yb_ in valid_dl:iter() do s = s + loss_func(model(xb_), yb_):item() end
    return s
  end)
  print(epoch, valid_loss / #valid_dl)
end

-- ---- fit() and get_data() ------------------------------------------------------------------
print("\n== fit / get_data ==")
-- loss_batch: the loss of one batch, and a training step when an optimizer is given
local function loss_batch(model_, loss_func_, xb_, yb_, opt__)
  local loss = loss_func_(model_(xb_), yb_)
  if opt__ then
    loss:backward()
    opt__:step()
    opt__:zero_grad()
  end
  return loss:item(), xb_:size(1)
end

local function fit2(epochs_, model_, loss_func_, opt__, train_dl_, valid_dl_)
  for epoch = 0, epochs_ - 1 do
    model_:train()
    for _, xb_, yb_ in train_dl_:iter() do loss_batch(model_, loss_func_, xb_, yb_, opt__) end
    model_:eval()
    local val_loss, correct, total = 0, 0, 0
    torch.no_grad(function()
      for _, xb_, yb_ in valid_dl_:iter() do
        local l, nb = loss_batch(model_, loss_func_, xb_, yb_)
        val_loss = val_loss + l * nb
        correct = correct + accuracy(model_(xb_), yb_):item() * nb
        total = total + nb
      end
    end)
    -- val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
    print(string.format("%d %.4f (valid accuracy %.4f)", epoch, val_loss / total, correct / total))
  end
end

local function get_data(train_ds_, valid_ds_, bs_)
  return data.DataLoader(train_ds_, { batch_size = bs_, shuffle = true }),
      data.DataLoader(valid_ds_, { batch_size = bs_ * 2 })
end

train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
model, opt_ = get_model()
fit2(epochs, model, loss_func, opt_, train_dl, valid_dl)
