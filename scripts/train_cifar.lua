-- Seed 004's CIFAR-10 classifier (the PyTorch "Training a classifier" tutorial), line for line:
-- ToTensor + Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)), batch 4, shuffled, the tutorial's Net
-- (conv 3->6 5x5, pool, conv 6->16 5x5, pool, 400-120-84-10), CrossEntropyLoss, SGD(lr 0.001,
-- momentum 0.9), 2 epochs, the running loss every 2000 mini-batches, then overall and per-class
-- test accuracy.
--
--   build/nnlua scripts/train_cifar.lua [--data DIR] [--epochs 2] [--device cpu|cuda]
--     [--limit N] [--test-limit N] [--log-every 2000] [--batch-size 4] [--lr 0.001] [--seed N]
--
-- DIR holds the CIFAR-10 binary version (data_batch_1.bin .. data_batch_5.bin, test_batch.bin)
-- or its parent (cifar-10-batches-bin/ inside it); default ./data.
local t_start = torch.time()

local opts = { data = "data", epochs = 2, device = "cpu", limit = nil, test_limit = nil, log_every = 2000,
  batch_size = 4, lr = 0.001, seed = nil, workers = 0, threads = nil }
local usage = [[
usage: nnlua scripts/train_cifar.lua [options]
  --data DIR        folder with data_batch_1.bin .. data_batch_5.bin and test_batch.bin (default ./data)
  --epochs N        epochs (default 2)
  --device D        cpu or cuda (default cpu)
  --limit N         train on the first N training images only (fast mode)
  --test-limit N    evaluate on the first N test images only
  --log-every N     print the running loss every N mini-batches (default 2000)
  --batch-size N    mini-batch size (default 4)
  --lr X            SGD learning rate (default 0.001; momentum 0.9)
  --seed N          random seed (default: unseeded, like the tutorial)
  --workers N       DataLoader worker threads (default 0)
  --threads N       compute threads (default: torch's default)]]

local function die(msg, code)
  io.stderr:write("train_cifar: ", msg, "\n")
  os.exit(code or 2)
end

do
  local kinds = { data = "str", epochs = "int", device = "str", limit = "int", test_limit = "int", log_every = "int",
    batch_size = "int", lr = "num", seed = "int", workers = "int", threads = "int" }
  local argv, i = arg or {}, 1
  while i <= #argv do
    local a = argv[i]
    if a == "-h" or a == "--help" then print(usage) os.exit(0) end
    if a:sub(1, 2) ~= "--" then die("unexpected argument '" .. a .. "'\n" .. usage) end
    local key, val = a:sub(3):match("^([^=]+)=(.*)$")
    if not key then key = a:sub(3); i = i + 1; val = argv[i] end
    key = key:gsub("-", "_")
    local kind = kinds[key]
    if not kind then die("unknown option " .. a .. "\n" .. usage) end
    if val == nil then die("option " .. a .. " needs a value") end
    if kind == "int" then
      val = math.tointeger(tonumber(val)) or die(string.format("%s expects an integer, got '%s'", a, val))
      if val < (key == "workers" and 0 or 1) then die(string.format("%s must be positive, got %d", a, val)) end
    elseif kind == "num" then
      val = tonumber(val) or die(string.format("%s expects a number, got '%s'", a, val))
    end
    opts[key] = val
    i = i + 1
  end
  if opts.device:sub(1, 4) == "cuda" then
    if not torch.cuda.is_available() then die("--device " .. opts.device .. ": CUDA is not available in this build or on this machine") end
  elseif opts.device ~= "cpu" then
    die("--device must be cpu or cuda, got '" .. opts.device .. "'")
  end
end
if opts.seed then torch.manual_seed(opts.seed) end
if opts.threads then torch.set_num_threads(opts.threads) end
local device = opts.device

-- ---- data ---------------------------------------------------------------------------------------
local transforms = data.transforms
local transform = transforms.Compose { transforms.ToTensor(), transforms.Normalize({ 0.5, 0.5, 0.5 }, { 0.5, 0.5, 0.5 }) }

local function load(train)
  local ok, ds = pcall(data.datasets.CIFAR10, { root = opts.data, train = train, transform = transform })
  if ok then return ds end
  die(string.format([[cannot read the CIFAR-10 data: %s

train_cifar.lua needs the CIFAR-10 binary version ("CIFAR-10 binary version (suitable for C programs)",
https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz, 162 MB): the files data_batch_1.bin ..
data_batch_5.bin (training, 10000 records each) and test_batch.bin (10000 records), each record
1 label byte + 3072 pixel bytes. They were looked for in '%s' and '%s/cifar-10-batches-bin'.
Unpack the archive there (tar xzf cifar-10-binary.tar.gz -C %s) or pass --data <folder>.]],
    tostring(ds), opts.data, opts.data, opts.data), 1)
end
local trainset, testset = load(true), load(false)
local function first(ds, n)
  if not n or n >= #ds then return ds end
  local idx = {}
  for k = 1, n do idx[k] = k end
  return data.Subset(ds, idx)
end
trainset, testset = first(trainset, opts.limit), first(testset, opts.test_limit)

local batch_size = opts.batch_size
local trainloader = data.DataLoader(trainset, { batch_size = batch_size, shuffle = true, num_workers = opts.workers,
  seed = opts.seed })
local testloader = data.DataLoader(testset, { batch_size = batch_size, shuffle = false, num_workers = opts.workers })
local classes = { "plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck" }

-- ---- the network --------------------------------------------------------------------------------
local F = nn.functional
local Net = nn.Module:extend("Net")
function Net:__init()
  self.conv1 = nn.Conv2d(3, 6, 5)
  self.pool = nn.MaxPool2d(2, 2)
  self.conv2 = nn.Conv2d(6, 16, 5)
  self.fc1 = nn.Linear(16 * 5 * 5, 120)
  self.fc2 = nn.Linear(120, 84)
  self.fc3 = nn.Linear(84, 10)
end
function Net:forward(x)
  x = self.pool(F.relu(self.conv1(x)))
  x = self.pool(F.relu(self.conv2(x)))
  x = torch.flatten(x, 2) -- flatten all dimensions except batch
  x = F.relu(self.fc1(x))
  x = F.relu(self.fc2(x))
  return self.fc3(x)
end

local net = Net()
net:to(device)
local criterion = nn.CrossEntropyLoss()
local optimizer = optim.SGD(net:parameters(), { lr = opts.lr, momentum = 0.9 })

-- ---- training -----------------------------------------------------------------------------------
for epoch = 1, opts.epochs do -- loop over the dataset multiple times
  local running_loss = 0.0
  for i, inputs, labels in trainloader:iter() do
    if device ~= "cpu" then inputs, labels = inputs:to(device), labels:to(device) end
    optimizer:zero_grad()
    local outputs = net(inputs)
    local loss = criterion(outputs, labels)
    loss:backward()
    optimizer:step()
    running_loss = running_loss + loss:item()
    if i % opts.log_every == 0 then -- print every 2000 mini-batches
      print(string.format("[%d, %5d] loss: %.3f", epoch, i, running_loss / opts.log_every))
      running_loss = 0.0
    end
  end
end
print("Finished Training")

-- ---- testing ------------------------------------------------------------------------------------
local correct, total = 0, 0
local correct_pred, total_pred = {}, {}
for c = 1, #classes do correct_pred[c], total_pred[c] = 0, 0 end
torch.no_grad(function()
  for _, images, labels in testloader:iter() do
    if device ~= "cpu" then images = images:to(device) end
    local _, predictions = torch.max(net(images), 2)
    local p, l = predictions:cpu():tolist(), labels:tolist()
    for k = 1, #l do
      if p[k] == l[k] then correct_pred[l[k]] = correct_pred[l[k]] + 1; correct = correct + 1 end
      total_pred[l[k]] = total_pred[l[k]] + 1
    end
    total = total + #l
  end
end)
print(string.format("Accuracy of the network on the %d test images: %d %%", total, 100 * correct // math.max(total, 1)))
for c, classname in ipairs(classes) do
  local accuracy = total_pred[c] > 0 and 100 * correct_pred[c] / total_pred[c] or 0
  print(string.format("Accuracy for class: %-5s is %.1f %%", classname, accuracy))
end
print(string.format("Total wall time: %.1f s", torch.time() - t_start))
