-- Fashion-MNIST classifier: the README's first command (`make demo`).
--
--   build/nnlua scripts/train_fashion_mnist.lua [--epochs 2] [--batch-size 64] [--lr 0.01]
--     [--model cnn|mlp] [--device cpu|cuda] [--seed 1] [--limit N] [--out fashion_out]
--     [--resume] [--workers 0] [--threads N] [--data DIR] [--no-progress] [--no-normalize]
--     [--distributed]
--   mpirun -np 2 build/nnlua scripts/train_fashion_mnist.lua --distributed [options]
--
-- Real Fashion-MNIST (the Debian package dataset-fashion-mnist, /usr/share/datasets/fashion-mnist).
-- Model "cnn": seed 000's LeNet adapted to 28x28 inputs (conv 1->6 3x3, relu, maxpool 2,
-- conv 6->16 3x3, relu, maxpool 2, flatten, 400 -> 120 -> 84 -> 10); "mlp": seed 002's
-- 784-512-512-10 NeuralNetwork. ToTensor + Normalize((0.5,), (0.5,)) (pixels in [-1, 1], as
-- seed 004; --no-normalize: ToTensor only, [0, 1]), shuffled batches, CrossEntropyLoss,
-- SGD(lr 0.01, momentum 0.9). Evaluation as in seed 004:
-- overall and per-class test accuracy. Writes into --out: checkpoint.safetensors
-- ({model=, optimizer=, epoch=, losses=}, atomic torch.save), loss_curve.png and
-- predictions.png (32 test images, a green bar under each correct prediction, red otherwise).
-- scripts/bench/train_fashion_mnist.py is the same recipe in PyTorch.
-- --distributed (under mpirun): data-parallel training with torch.distributed (MPI on the CPU,
-- NCCL with --device cuda, one GPU per rank) and DistributedDataParallel; --batch-size is the
-- global batch, split evenly across the ranks, and a DistributedSampler deals each rank its
-- share of one shared permutation per epoch, so every step sees the same samples whatever the
-- number of ranks. Rank 0 prints, saves the checkpoint, evaluates and writes the PNGs.
local t_start = torch.time()

-- ---- options ----------------------------------------------------------------------------------
local opts = { epochs = 2, batch_size = 64, lr = 0.01, momentum = 0.9, model = "cnn", device = "cpu", seed = 1,
  limit = nil, out = "fashion_out", resume = false, workers = 0, threads = nil, data = nil, progress = true,
  log_every = 200, normalize = true, distributed = false }
local usage = [[
usage: nnlua scripts/train_fashion_mnist.lua [options]
  --epochs N       epochs to train (default 2; with --resume: the total, counting finished ones)
  --batch-size N   mini-batch size (default 64)
  --lr X           SGD learning rate (default 0.01; momentum 0.9)
  --model M        cnn (seed 000's LeNet on 28x28) or mlp (seed 002's 784-512-512-10); default cnn
  --device D       cpu or cuda (default cpu)
  --seed N         random seed for initialisation and shuffling (default 1)
  --limit N        train on the first N training images only (fast mode)
  --out DIR        output folder for the checkpoint and PNGs (default fashion_out)
  --resume         continue from DIR/checkpoint.safetensors
  --workers N      DataLoader worker threads (default 0)
  --threads N      compute threads (default: torch's default)
  --data DIR       folder with the Fashion-MNIST IDX files (default /usr/share/datasets/fashion-mnist)
  --log-every N    print the running loss every N mini-batches (default 200)
  --no-progress    no progress display
  --no-normalize   ToTensor only (default: ToTensor, then Normalize((0.5,), (0.5,)))
  --distributed    data-parallel over the ranks of mpirun (MPI backend; NCCL with --device cuda)]]

local function die(msg)
  io.stderr:write("train_fashion_mnist: ", msg, "\n")
  os.exit(2)
end

do
  local numeric = { epochs = "int", batch_size = "int", lr = "num", seed = "int", limit = "int", workers = "int",
    threads = "int", log_every = "int" }
  local i = 1
  local argv = arg or {}
  while i <= #argv do
    local a = argv[i]
    if a == "-h" or a == "--help" then print(usage) os.exit(0) end
    if a == "--resume" then opts.resume = true
    elseif a == "--no-progress" then opts.progress = false
    elseif a == "--no-normalize" then opts.normalize = false
    elseif a == "--distributed" then opts.distributed = true
    elseif a:sub(1, 2) == "--" then
      local key, val = a:sub(3):match("^([^=]+)=(.*)$")
      if not key then key = a:sub(3); i = i + 1; val = argv[i] end
      key = key:gsub("-", "_")
      if opts[key] == nil and numeric[key] == nil and key ~= "limit" and key ~= "threads" and key ~= "data" then
        die("unknown option " .. a .. "\n" .. usage)
      end
      if val == nil then die("option " .. a .. " needs a value") end
      if numeric[key] == "int" then
        val = math.tointeger(tonumber(val)) or die(string.format("%s expects an integer, got '%s'", a, val))
        if val < (key == "workers" and 0 or 1) then die(string.format("%s must be positive, got %d", a, val)) end
      elseif numeric[key] == "num" then
        val = tonumber(val) or die(string.format("%s expects a number, got '%s'", a, val))
      end
      opts[key] = val
    else
      die("unexpected argument '" .. a .. "'\n" .. usage)
    end
    i = i + 1
  end
  if opts.model ~= "cnn" and opts.model ~= "mlp" then die("--model must be cnn or mlp, got '" .. opts.model .. "'") end
  if opts.device:sub(1, 4) == "cuda" and not torch.cuda.is_available() then
    die("--device " .. opts.device .. ": CUDA is not available in this build or on this machine")
  elseif opts.device ~= "cpu" and opts.device:sub(1, 4) ~= "cuda" then
    die("--device must be cpu or cuda, got '" .. opts.device .. "'")
  end
end
if opts.threads then torch.set_num_threads(opts.threads) end
torch.manual_seed(opts.seed)
local device = opts.device

-- ---- data parallelism (--distributed) -----------------------------------------------------------
local dist = torch.distributed
local rank, world = 0, 1
local backend = device:sub(1, 4) == "cuda" and "nccl" or "mpi" -- with --distributed
if opts.distributed then
  local ok_init, err = pcall(dist.init_process_group, { backend = backend, timeout = 120 })
  if not ok_init then die("--distributed: " .. tostring(err)) end
  rank, world = dist.get_rank(), dist.get_world_size()
  if backend == "nccl" then device = dist.get_device() end -- this rank's GPU
  if opts.batch_size % world ~= 0 then
    die(string.format("--batch-size %d is not divisible by the %d ranks", opts.batch_size, world))
  end
  if rank ~= 0 then -- one voice: rank 0 reports, saves and evaluates
    print = function() end
    opts.progress = false
  end
end

-- ---- data ---------------------------------------------------------------------------------------
local T = data.transforms
local transform = T.Compose { T.ToTensor(), opts.normalize and T.Normalize({ 0.5 }, { 0.5 }) or nil }
local FashionMNIST = data.datasets.FashionMNIST
local ok, trainset = pcall(FashionMNIST, { root = opts.data, train = true, transform = transform })
if not ok then die(tostring(trainset)) end
local testset = FashionMNIST { root = opts.data, train = false, transform = transform }
local classes = FashionMNIST.classes
if opts.limit and opts.limit < #trainset then
  local idx = {}
  for k = 1, opts.limit do idx[k] = k end
  trainset = data.Subset(trainset, idx)
end
local testloader = data.DataLoader(testset, { batch_size = 1000, shuffle = false, num_workers = opts.workers })
print(string.format("Fashion-MNIST: %d training images, %d test images; model %s, batch %d, SGD lr %g momentum %g, " ..
  "%d epoch(s), %s, device %s, %d thread(s)", #trainset, #testset, opts.model, opts.batch_size, opts.lr, opts.momentum,
  opts.epochs, opts.normalize and "ToTensor + Normalize(0.5, 0.5)" or "ToTensor", device, torch.get_num_threads()))
if opts.distributed then
  print(string.format("Distributed: %d ranks (%s backend), %d samples per rank per step", world, backend,
    opts.batch_size // world))
end

-- ---- model --------------------------------------------------------------------------------------
local Net = require("models.lenet").FashionNet -- seed 000's CNN adapted to 28x28

local NeuralNetwork = nn.Module:extend("NeuralNetwork")
function NeuralNetwork:__init()
  self.flatten = nn.Flatten()
  self.linear_relu_stack = nn.Sequential(nn.Linear(28 * 28, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
    nn.Linear(512, 10))
end
function NeuralNetwork:forward(x) return self.linear_relu_stack(self.flatten(x)) end

local model = (opts.model == "cnn" and Net or NeuralNetwork)()
model:to(device)
-- the module the training loop calls: DDP all-reduces the gradients during backward
local net = opts.distributed and nn.parallel.DistributedDataParallel(model) or model
local criterion = nn.CrossEntropyLoss()
local optimizer = optim.SGD(model:parameters(), { lr = opts.lr, momentum = opts.momentum })

-- ---- checkpoint ---------------------------------------------------------------------------------
os.execute("mkdir -p '" .. opts.out:gsub("'", "'\\''") .. "'")
local ckpt_path = opts.out .. "/checkpoint.safetensors"
local start_epoch, losses = 1, {} -- losses: the running loss at each log point, across epochs
if opts.resume then
  local f = io.open(ckpt_path, "rb")
  if not f then die("--resume: no checkpoint at " .. ckpt_path .. " (run without --resume first)") end
  f:close()
  local ck = torch.load(ckpt_path, { map_location = device })
  if ck.model_kind and ck.model_kind ~= opts.model then
    die(string.format("--resume: the checkpoint holds a %s model, not %s (pass --model %s)", ck.model_kind, opts.model,
      ck.model_kind))
  end
  model:load_state_dict(ck.model)
  optimizer:load_state_dict(ck.optimizer)
  start_epoch = ck.epoch + 1
  losses = ck.losses or {}
  print(string.format("Resumed from %s: %d epoch(s) done", ckpt_path, ck.epoch))
end

-- ---- training -----------------------------------------------------------------------------------
-- the loader's own generator; a resumed run draws other permutations than the epochs it skips
local trainloader, sampler
if opts.distributed then
  sampler = data.DistributedSampler(trainset, { shuffle = true, seed = opts.seed, drop_last = true })
  trainloader = data.DataLoader(trainset, { batch_size = opts.batch_size // world, sampler = sampler,
    num_workers = opts.workers })
else
  trainloader = data.DataLoader(trainset, { batch_size = opts.batch_size, shuffle = true,
    num_workers = opts.workers, seed = opts.seed + 7919 * (start_epoch - 1) })
end
local t_train = torch.time()
local nb = #trainloader
for epoch = start_epoch, opts.epochs do
  model:train()
  if sampler then sampler:set_epoch(epoch) end
  local t_epoch, seen = torch.time(), 0 -- samples this rank trained on
  local running_loss, count = 0.0, 0
  local it
  if opts.progress then
    it = data.progress(trainloader, { label = string.format("epoch %d/%d", epoch, opts.epochs), every = 25 }):iter()
  else
    it = trainloader:iter()
  end
  for i, inputs, labels in it do
    if device ~= "cpu" then inputs, labels = inputs:to(device), labels:to(device) end
    optimizer:zero_grad()
    local outputs = net(inputs)
    local loss = criterion(outputs, labels)
    loss:backward()
    optimizer:step()
    running_loss = running_loss + loss:item()
    count, seen = count + 1, seen + inputs:size(1)
    if i % opts.log_every == 0 or i == nb then
      local avg = running_loss / count
      if opts.distributed then -- the mean over the ranks' shares of the global batch
        local t = torch.tensor({ avg }, { dtype = torch.float64 })
        dist.all_reduce(t, "avg")
        avg = t[1]:item()
      end
      print(string.format("[%d, %5d] loss: %.3f", epoch, i, avg))
      losses[#losses + 1] = avg
      running_loss, count = 0.0, 0
    end
  end
  local secs = torch.time() - t_epoch
  if rank == 0 then
    torch.save({ model = model:state_dict(), optimizer = optimizer:state_dict(), epoch = epoch, losses = losses,
      model_kind = opts.model }, ckpt_path)
  end
  print(string.format("epoch %d done (%.1f s since start, %.0f samples/s); checkpoint %s", epoch,
    torch.time() - t_start, seen * world / math.max(secs, 1e-9), ckpt_path))
end
local train_s = torch.time() - t_train
print("Finished Training")
if opts.distributed then -- the replicas are identical: rank 0 alone evaluates and draws
  dist.barrier()
  if rank ~= 0 then
    dist.destroy_process_group()
    os.exit(0)
  end
end

-- ---- evaluation (seed 004) ----------------------------------------------------------------------
model:eval()
local correct, total = 0, 0
local correct_pred, total_pred = {}, {}
for c = 1, #classes do correct_pred[c], total_pred[c] = 0, 0 end
torch.no_grad(function()
  for _, images, labels in testloader:iter() do
    if device ~= "cpu" then images = images:to(device) end
    local _, predicted = torch.max(model(images), 2)
    local p, l = predicted:cpu():tolist(), labels:tolist()
    for k = 1, #l do
      total_pred[l[k]] = total_pred[l[k]] + 1
      if p[k] == l[k] then correct_pred[l[k]] = correct_pred[l[k]] + 1; correct = correct + 1 end
    end
    total = total + #l
  end
end)
print(string.format("Accuracy of the network on the %d test images: %d %%", total, 100 * correct // total))
print(string.format("Test accuracy: %.2f %%", 100 * correct / total))
for c, name in ipairs(classes) do
  print(string.format("Accuracy for class: %-11s is %.1f %%", name, 100 * correct_pred[c] / math.max(total_pred[c], 1)))
end

-- ---- loss curve PNG: axes and a polyline drawn into a uint8 (3, H, W) image ---------------------
local function plot_losses(values, path)
  local W, H, m = 480, 300, 30 -- image size and margin (pixels)
  local px = {} -- flat (3, H, W), white
  local plane = W * H
  for k = 1, 3 * plane do px[k] = 255 end
  local function put(x, y, r, g, b)
    if x < 0 or x >= W or y < 0 or y >= H then return end
    local o = y * W + x + 1
    px[o], px[o + plane], px[o + 2 * plane] = r, g, b
  end
  local function line(x0, y0, x1, y1, r, g, b) -- Bresenham
    x0, y0, x1, y1 = math.floor(x0 + 0.5), math.floor(y0 + 0.5), math.floor(x1 + 0.5), math.floor(y1 + 0.5)
    local dx, dy = math.abs(x1 - x0), -math.abs(y1 - y0)
    local sx, sy = x0 < x1 and 1 or -1, y0 < y1 and 1 or -1
    local err = dx + dy
    while true do
      put(x0, y0, r, g, b); put(x0, y0 + 1, r, g, b)
      if x0 == x1 and y0 == y1 then break end
      local e2 = 2 * err
      if e2 >= dy then err = err + dy; x0 = x0 + sx end
      if e2 <= dx then err = err + dx; y0 = y0 + sy end
    end
  end
  local lo, hi = 0, 0
  for _, v in ipairs(values) do hi = math.max(hi, v) end
  if hi <= lo then hi = lo + 1 end
  -- axes (black) with ticks every 10% of the range (grey grid lines)
  for k = 1, 9 do
    local y = H - m - k * (H - 2 * m) / 10
    line(m + 1, y, W - m, y, 225, 225, 225)
  end
  line(m, m, m, H - m, 0, 0, 0)
  line(m, H - m, W - m, H - m, 0, 0, 0)
  local n = #values
  local function pt(k)
    local x = m + (n > 1 and (k - 1) / (n - 1) or 0) * (W - 2 * m)
    local y = H - m - (values[k] - lo) / (hi - lo) * (H - 2 * m)
    return x, y
  end
  for k = 1, n - 1 do
    local x0, y0 = pt(k)
    local x1, y1 = pt(k + 1)
    line(x0, y0, x1, y1, 31, 119, 180)
  end
  if n == 1 then local x, y = pt(1); line(x - 2, y, x + 2, y, 31, 119, 180) end
  local img = torch.tensor(px, { dtype = "uint8" }):view(3, H, W)
  data.utils.save_image(img, path)
  return lo, hi
end
local curve = opts.out .. "/loss_curve.png"
if #losses > 0 then
  local lo, hi = plot_losses(losses, curve)
  print(string.format("Loss curve: %s (%d points, every %d mini-batches; y axis %.2f..%.2f, x axis training steps)",
    curve, #losses, opts.log_every, lo, hi))
end

-- ---- prediction grid PNG: 32 test images, a bar under each (green correct, red wrong) -----------
do
  local B, bar = 32, 4
  local images, labels = testset.data:narrow(1, 1, B), testset.targets:narrow(1, 1, B)
  local x = images:float():div(255):unsqueeze(2) -- (B, 1, 28, 28) in [0, 1], as shown
  local predicted
  torch.no_grad(function()
    local input = opts.normalize and x:sub(0.5):div(0.5) or x -- as the model was trained
    local _, p = torch.max(model(input:to(device)), 2)
    predicted = p:cpu()
  end)
  local tiles = torch.zeros(B, 3, 28 + bar, 28)
  tiles:narrow(3, 1, 28)[{}] = x:expand(B, 3, 28, 28)
  local ok_mask = predicted:eq(labels):tolist()
  local names = {}
  for k = 1, B do
    local good = ok_mask[k]
    tiles[{ k, good and 2 or 1, { 29 + 1, 28 + bar } }] = 1.0 -- skip the first row: a gap under the image
    names[k] = string.format("%s%s", classes[predicted[k]:item()], good and "" or (" (true: " .. classes[labels[k]:item()] .. ")"))
  end
  local grid_path = opts.out .. "/predictions.png"
  data.utils.save_image(tiles, grid_path, { nrow = 8, padding = 2 })
  print(string.format("Predictions grid: %s (8 per row, green bar = correct, red = wrong); predicted labels in grid order:", grid_path))
  for r = 0, B // 8 - 1 do
    local row = {}
    for c = 1, 8 do row[c] = names[r * 8 + c] end
    print("  " .. table.concat(row, " | "))
  end
end

print(string.format("Training time: %.1f s; total wall time: %.1f s", train_s, torch.time() - t_start))
if opts.distributed then dist.destroy_process_group() end
