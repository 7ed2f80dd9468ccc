-- Data-parallel Fashion-MNIST training over MPI (torch.distributed + DistributedDataParallel).
--
--   mpirun -np 2 build/nnlua scripts/dist/train_fashion_mnist_ddp.lua [--epochs 1]
--       [--limit N] [--test-limit N] [--batch 64] [--lr 0.01] [--seed 0]
--       [--root /usr/share/datasets/fashion-mnist] [--threads T] [--backend mpi|nccl]
--   --backend nccl: CUDA tensors, one GPU per rank (the rank's GPU is dist.get_device())
--   (as root add --allow-run-as-root; on a machine with fewer cores than ranks --oversubscribe)
--
-- Seed 000's CNN adapted to 28x28 inputs: conv 1->6 3x3, max-pool 2, conv 6->16 3x3, max-pool 2,
-- 400-120-84-10; SGD lr 0.01 momentum 0.9; cross-entropy. The global batch (--batch, 64) is
-- split evenly across the ranks (32 per rank with 2), and DistributedSampler hands rank r the
-- positions r+1, r+1+W, ... of one shared permutation per epoch, so step k of a W-rank run sees
-- the same 64 samples as step k of a 1-rank run: the runs differ only by float rounding.
-- Evaluation is sharded the same way and the correct counts are summed with all_reduce.
local dist = torch.distributed

local opts = { epochs = 1, limit = nil, ["test-limit"] = nil, batch = 64, lr = 0.01, seed = 0,
  root = "/usr/share/datasets/fashion-mnist", threads = nil, backend = "mpi" }
local i = 1
while arg[i] do
  local k = arg[i]:match("^%-%-(.+)$")
  if not k or opts[k] == nil and k ~= "limit" and k ~= "test-limit" and k ~= "threads" then
    error("unknown argument " .. arg[i])
  end
  local v = arg[i + 1]
  opts[k] = tonumber(v) or v
  i = i + 2
end

dist.init_process_group { backend = opts.backend, timeout = 120 }
local device = dist.get_device() -- "cpu" (mpi) or this rank's GPU (nccl)
local rank, world = dist.get_rank(), dist.get_world_size()
local function log(...) if rank == 0 then print(string.format(...)) io.stdout:flush() end end
if opts.threads then torch.set_num_threads(opts.threads) end
if opts.batch % world ~= 0 then error(("--batch %d is not divisible by %d ranks"):format(opts.batch, world)) end
local per_rank = opts.batch // world

torch.manual_seed(opts.seed) -- same on every rank; DDP broadcasts rank 0's weights anyway
local F = nn.functional
local Net = nn.Module:extend("Net")
function Net:__init()
  self.conv1 = nn.Conv2d(1, 6, 3)
  self.conv2 = nn.Conv2d(6, 16, 3)
  self.fc1 = nn.Linear(16 * 5 * 5, 120)
  self.fc2 = nn.Linear(120, 84)
  self.fc3 = nn.Linear(84, 10)
end
function Net:forward(x)
  x = F.max_pool2d(F.relu(self.conv1(x)), 2) -- [B, 6, 13, 13]
  x = F.max_pool2d(F.relu(self.conv2(x)), 2) -- [B, 16, 5, 5]
  x = torch.flatten(x, 2)
  x = F.relu(self.fc1(x))
  x = F.relu(self.fc2(x))
  return self.fc3(x)
end

local T = data.transforms
local tf = T.Compose { T.ToTensor(), T.Normalize({ 0.5 }, { 0.5 }) }
local train = data.datasets.FashionMNIST { root = opts.root, train = true, transform = tf }
local test = data.datasets.FashionMNIST { root = opts.root, train = false, transform = tf }
local function limit(ds, n)
  if not n or n >= #ds then return ds end
  local idx = {}
  for j = 1, n do idx[j] = j end
  return data.Subset(ds, idx)
end
train, test = limit(train, opts.limit), limit(test, opts["test-limit"])

local model = Net():to(device)
local ddp = nn.parallel.DistributedDataParallel(model)
local opt = optim.SGD(ddp:parameters(), { lr = opts.lr, momentum = 0.9 })
local crit = nn.CrossEntropyLoss()
local sampler = data.DistributedSampler(train, { shuffle = true, seed = opts.seed, drop_last = true })
local loader = data.DataLoader(train, { batch_size = per_rank, sampler = sampler })
local test_sampler = data.DistributedSampler(test, { shuffle = false })
local test_loader = data.DataLoader(test, { batch_size = 500, sampler = test_sampler })
log("ranks %d, global batch %d (%d per rank), %d training samples, %d test samples",
  world, opts.batch, per_rank, #train, #test)

local function evaluate()
  model:eval()
  local correct, seen = 0, 0
  torch.no_grad(function()
    for _, x, y in test_loader:iter() do
      correct = correct + model(x:to(device)):argmax(2):eq(y:to(device)):sum():item()
      seen = seen + y:numel()
    end
  end)
  model:train()
  local t = torch.tensor({ correct, seen }, { dtype = "int64" }):to(device)
  dist.all_reduce(t) -- (padding repeats a few test samples when #test % world ~= 0)
  return t[1]:item() / t[2]:item()
end

for epoch = 1, opts.epochs do
  sampler:set_epoch(epoch)
  local t0 = torch.time()
  local running, steps = 0, 0
  for _, x, y in loader:iter() do
    opt:zero_grad()
    local loss = crit(ddp(x:to(device)), y:to(device))
    loss:backward()
    opt:step()
    running, steps = running + loss:item(), steps + 1
  end
  local secs = torch.time() - t0
  local l = torch.tensor { running / math.max(steps, 1) }
  dist.all_reduce(l, "avg")
  local acc = evaluate()
  log("epoch %d: train loss %.4f, test accuracy %.4f, %d steps in %.1f s (%.0f samples/s)",
    epoch, l:item(), acc, steps, secs, steps * opts.batch / secs)
end
dist.destroy_process_group()
