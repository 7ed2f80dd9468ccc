-- Worker for spec/distributed_spec.lua, run as `mpirun -np N nnlua spec/dist/worker.lua MODE`.
-- Checks its own values and prints "rank R: ok MODE" on success (an assertion failure is an
-- uncaught error: the host aborts the MPI job and the spec sees the message).
local dist = torch.distributed
local mode = arg[1]
dist.init_process_group { backend = mode == "nccl" and "nccl" or "mpi", timeout = tonumber(arg[2]) or 10 }
local r, W = dist.get_rank(), dist.get_world_size()

local function check(cond, msg) if not cond then error(("rank %d: %s"):format(r, msg), 2) end end
local function same(a, b, what)
  check(torch.equal(a, b), what .. ": got " .. tostring(a) .. " expected " .. tostring(b))
end

if mode == "collectives" then
  local sumr = W * (W - 1) // 2 -- sum of ranks
  for _, dt in ipairs { "float32", "float64", "int64", "int32", "uint8" } do
    local base = torch.tensor({ { 1, 2, 3 }, { 4, 5, 6 } }):to(dt)
    local t = base + r
    dist.all_reduce(t)
    same(t, (base * W + sumr):to(dt), "all_reduce sum " .. dt)
    t = base + r
    dist.all_reduce(t, dist.ReduceOp.MAX)
    same(t, base + (W - 1), "all_reduce max " .. dt)
    t = base + r
    dist.all_reduce(t, "min")
    same(t, base:clone(), "all_reduce min " .. dt)
    t = torch.full({ 3 }, r + 1):to(dt)
    dist.all_reduce(t, "product")
    local fact = 1
    for i = 1, W do fact = fact * i end
    same(t, torch.full({ 3 }, fact):to(dt), "all_reduce product " .. dt)
    t = base * (r + 1)
    dist.broadcast(t, W - 1)
    same(t, base * W, "broadcast " .. dt)
    local g = dist.all_gather(base + r)
    check(#g == W, "all_gather length")
    for k = 1, W do same(g[k], base + (k - 1), "all_gather " .. dt) end
    local outs = {}
    for k = 1, W do outs[k] = torch.zeros_like(base) end
    dist.all_gather(outs, base * r)
    for k = 1, W do same(outs[k], base * (k - 1), "all_gather(list) " .. dt) end
    t = base + r
    dist.reduce(t, 0)
    if r == 0 then same(t, (base * W + sumr):to(dt), "reduce " .. dt) end
  end
  -- bool: sum is logical or, min logical and
  local b = torch.tensor { r == 0, false, true }
  dist.all_reduce(b)
  same(b, torch.tensor { true, false, true }, "all_reduce bool sum")
  b = torch.tensor { r == 0, false, true }
  dist.all_reduce(b, "min")
  same(b, torch.tensor { W == 1, false, true }, "all_reduce bool min")
  -- avg on float64, non-contiguous (transposed) tensor written in place
  local base = torch.arange(0, 6, { dtype = "float64" }):reshape(2, 3)
  local nc = (base + r):t()
  check(not nc:is_contiguous(), "expected a non-contiguous tensor")
  dist.all_reduce(nc, "avg")
  same(nc, (base + (W - 1) / 2):t(), "all_reduce avg non-contiguous")
  -- 0-d and empty tensors
  local z = torch.tensor(r + 1.5)
  dist.all_reduce(z)
  check(z:dim() == 0 and z:item() == sumr + 1.5 * W, "all_reduce 0-d")
  local e = torch.zeros(0, 3)
  dist.all_reduce(e)
  check(e:numel() == 0, "all_reduce empty")
  local ok, err = pcall(dist.all_reduce, torch.tensor { 1, 2 }, "avg")
  check(not ok and err:find("AVG needs a floating point tensor", 1, true), "avg int error: " .. tostring(err))
  -- async_op
  local t = torch.ones(4) * r
  local w = dist.all_reduce(t, { async_op = true })
  w:wait()
  same(t, torch.ones(4) * sumr, "async all_reduce")
  dist.barrier()
elseif mode == "ddp" then
  torch.manual_seed(100 + r) -- different initialisation per rank: DDP broadcasts rank 0's
  local function make() return nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)):double() end
  local m = make()
  local ddp = nn.parallel.DistributedDataParallel(m, { bucket_cap_mb = 0.0002 }) -- several buckets
  check(ddp:state_dict()["module.1.weight"] ~= nil, "state_dict prefix")
  local ref = make()
  ref:load_state_dict(m:state_dict())
  torch.manual_seed(7)
  local N = 4 * W
  local X, Y = torch.randn(N, 5, { dtype = "float64" }), torch.randn(N, 3, { dtype = "float64" })
  local n = N // W
  local x, y = X:narrow(1, r * n + 1, n), Y:narrow(1, r * n + 1, n)
  nn.functional.mse_loss(ddp(x), y):backward()
  nn.functional.mse_loss(ref(X), Y):backward()
  local rp = ref:parameters()
  for i, p in ipairs(m:parameters()) do
    local d = (p.grad - rp[i].grad):abs():max():item()
    check(d <= 1e-12, ("DDP grad %d differs from the full-batch grad by %g"):format(i, d))
  end
  -- no_sync: two half batches accumulated locally, synced on the second = full batch
  m:zero_grad(); ref:zero_grad()
  local h = n // 2
  ddp:no_sync(function() nn.functional.mse_loss(ddp(x:narrow(1, 1, h)), y:narrow(1, 1, h)):backward() end)
  nn.functional.mse_loss(ddp(x:narrow(1, h + 1, n - h)), y:narrow(1, h + 1, n - h)):backward()
  nn.functional.mse_loss(ref(X), Y):backward()
  for i, p in ipairs(m:parameters()) do
    local d = (p.grad - rp[i].grad * 2):abs():max():item()
    check(d <= 1e-12, ("no_sync accumulated grad %d differs by %g"):format(i, d))
  end
  -- training steps: parameters stay identical on every rank
  local opt = optim.SGD(ddp:parameters(), { lr = 0.1, momentum = 0.9 })
  local sampler = data.DistributedSampler(data.TensorDataset(X, Y), { shuffle = true, seed = 3 })
  local loader = data.DataLoader(data.TensorDataset(X, Y), { batch_size = 2, sampler = sampler })
  for epoch = 1, 3 do
    sampler:set_epoch(epoch)
    for _, xb, yb in loader:iter() do
      opt:zero_grad()
      nn.functional.mse_loss(ddp(xb), yb):backward()
      opt:step()
    end
  end
  for i, p in ipairs(m:parameters()) do
    local all = dist.all_gather(p:detach())
    for k = 2, W do check(torch.equal(all[k], all[1]), ("parameter %d differs between rank 0 and %d"):format(i, k - 1)) end
  end
elseif mode == "nccl" then
  -- NCCL backend (GPU sessions only): the collectives on this rank's GPU give the values the
  -- MPI backend gives on the CPU, and DDP over CUDA parameters matches the full-batch gradient.
  local dev = dist.get_device()
  check(dev:match("^cuda:%d+$"), "get_device() = " .. dev)
  local sumr = W * (W - 1) // 2
  for _, dt in ipairs { "float32", "float64", "int64", "int32", "uint8" } do
    local base = torch.tensor({ { 1, 2, 3 }, { 4, 5, 6 } }):to(dt)
    local t = (base + r):to(dev)
    dist.all_reduce(t)
    same(t:cpu(), (base * W + sumr):to(dt), "nccl all_reduce sum " .. dt)
    t = (base + r):to(dev)
    dist.all_reduce(t, "max")
    same(t:cpu(), base + (W - 1), "nccl all_reduce max " .. dt)
    t = (base * (r + 1)):to(dev)
    dist.broadcast(t, W - 1)
    same(t:cpu(), base * W, "nccl broadcast " .. dt)
    local g = dist.all_gather((base + r):to(dev))
    for k = 1, W do same(g[k]:cpu(), base + (k - 1), "nccl all_gather " .. dt) end
    t = (base + r):to(dev)
    dist.reduce(t, 0)
    if r == 0 then same(t:cpu(), (base * W + sumr):to(dt), "nccl reduce " .. dt) end
  end
  local nc = (torch.arange(0, 6, { dtype = "float64" }):reshape(2, 3) + r):to(dev):t()
  dist.all_reduce(nc, "avg")
  same(nc:cpu(), (torch.arange(0, 6, { dtype = "float64" }):reshape(2, 3) + (W - 1) / 2):t(), "nccl avg non-contiguous")
  local ok, err = pcall(dist.all_reduce, torch.zeros(3))
  check(not ok and err:find("the NCCL backend of rank " .. r .. " takes tensors on " .. dev .. " (got a tensor on cpu)", 1, true),
    "cpu tensor under nccl: " .. tostring(err))
  dist.barrier()
  torch.manual_seed(100 + r)
  local m = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)):double()
  local ref = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)):double()
  m:to(dev)
  local ddp = nn.parallel.DistributedDataParallel(m, { bucket_cap_mb = 0.0002 })
  ref:load_state_dict(m:state_dict()) -- rank 0's weights (load copies them to the CPU)
  torch.manual_seed(7)
  local N = 4 * W
  local X, Y = torch.randn(N, 5, { dtype = "float64" }), torch.randn(N, 3, { dtype = "float64" })
  local n = N // W
  nn.functional.mse_loss(ddp(X:narrow(1, r * n + 1, n):to(dev)), Y:narrow(1, r * n + 1, n):to(dev)):backward()
  nn.functional.mse_loss(ref(X), Y):backward()
  local rp = ref:parameters()
  for i, p in ipairs(m:parameters()) do
    local d = (p.grad:cpu() - rp[i].grad):abs():max():item()
    check(d <= 1e-10, ("NCCL DDP grad %d differs from the full-batch grad by %g"):format(i, d))
  end
elseif mode == "raise" then
  if r == 1 then error("boom on rank 1") end
  dist.all_reduce(torch.zeros(3))
elseif mode == "timeout" then
  if r == 1 then
    os.execute("sleep " .. (tonumber(arg[2]) + 3)) -- never joins the collective
  else
    dist.all_reduce(torch.zeros(3))
  end
elseif mode == "shapes" then
  local ok, err = pcall(dist.all_reduce, torch.zeros(r == 0 and { 2, 3 } or { 4 }))
  check(not ok, "expected an error")
  print(("rank %d: %s"):format(r, err))
  ok, err = pcall(dist.broadcast, torch.zeros(3, { dtype = r == 0 and "float32" or "int64" }), 0)
  check(not ok, "expected a dtype error")
  print(("rank %d: %s"):format(r, err))
end
print(("rank %d: ok %s"):format(r, mode))
dist.destroy_process_group()
