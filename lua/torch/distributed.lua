-- torch.distributed: collectives between processes (PyTorch's torch.distributed), backends
-- "mpi" (CPU tensors, dist/mpi.c) and "nccl" (CUDA tensors, dist/nccl.c; CUDA builds).
--
--   mpirun -np 4 nnlua train.lua        -- rank and world size come from the launcher
--   torch.distributed.init_process_group{backend="mpi", timeout=60}
--
-- NCCL: the ranks are still launched by mpirun (MPI carries rank 0's NCCL id to the others);
-- each rank drives the GPU numbered <node-local rank> % <GPU count> (get_device() tells which,
-- e.g. "cuda:1"), and its collectives take tensors on that GPU.
--
-- Ranks are 0-based as in PyTorch (they are process ids, not indices into a Lua list):
-- get_rank() is 0..world_size-1 and `src`/`dst` arguments use the same numbering.
--
-- Timeouts: every collective is non-blocking underneath and waits at most `timeout` seconds
-- (default 60 s here; PyTorch's default is 30 minutes) for the other ranks, then raises
-- "<op>: timed out after N s waiting for other ranks (...)". After a timeout the process group
-- is unusable. A rank whose script dies with an uncaught error MPI_Aborts the whole job (the
-- nnlua host does this when a process group is initialised), so the others stop at once
-- instead of waiting for their timeout; PyTorch leaves that to the launcher (torchrun).
--
-- Tensors: CPU tensors of any dtype (float32 float64 int64 int32 uint8 bool); collectives work
-- in place like PyTorch's, copying non-contiguous tensors through a contiguous buffer.
-- Before each collective the ranks compare dtype and shape (one small all-reduce) and raise
-- "<op>: tensor shapes differ across ranks (...)" on every rank when they disagree.
local C = require "torch._dist"

local dist = {}
local torch -- set by _install (torch/init.lua) or on first use

dist.ReduceOp = { SUM = "sum", AVG = "avg", MAX = "max", MIN = "min", PRODUCT = "product" }
local valid_ops = { sum = true, avg = true, max = true, min = true, product = true }

local state = { initialized = false, rank = 0, size = 1, backend = nil, timeout = 60 }

local NO_MPI = "torch.distributed: nnlua was built without MPI support (install libopenmpi-dev and rebuild)"

function dist.is_available() return true end
function dist.is_mpi_available() return C.mpi_available == true end
function dist.is_nccl_available() return C.nccl_compiled == true end

-- init_process_group{backend="mpi", timeout=60} (also init_process_group("mpi", {timeout=})).
-- world_size and rank, when given, must agree with the launcher's.
function dist.init_process_group(backend, opts)
  if type(backend) == "table" then opts, backend = backend, backend.backend end
  opts = opts or {}
  backend = backend or opts.backend or "mpi"
  if backend == "nccl" and not C.nccl_compiled then
    error("init_process_group: backend 'nccl' needs a build of nnlua with CUDA, MPI and NCCL; "
      .. "this build has none (use backend=\"mpi\" for CPU tensors)", 2)
  elseif backend == "gloo" then
    error("init_process_group: backend 'gloo' is not available in nnlua; use backend=\"mpi\" "
      .. "and launch with mpirun", 2)
  elseif backend ~= "mpi" and backend ~= "nccl" then
    error(("init_process_group: unknown backend '%s' (expected \"mpi\" or \"nccl\")"):format(tostring(backend)), 2)
  end
  if not C.mpi_available then error(NO_MPI, 2) end
  if backend == "nccl" and not torch.cuda.is_available() then
    error("init_process_group: backend 'nccl' needs a GPU, but torch.cuda.is_available() is false", 2)
  end
  local timeout = opts.timeout or 60
  if type(timeout) ~= "number" or timeout <= 0 then
    error(("init_process_group: timeout must be a positive number of seconds (got %s)"):format(tostring(timeout)), 2)
  end
  local rank, size = C.init(timeout)
  if opts.world_size and opts.world_size ~= size then
    error(("init_process_group: world_size=%d but the launcher started %d processes"):format(opts.world_size, size), 2)
  end
  if opts.rank and opts.rank ~= rank then
    error(("init_process_group: rank=%d but the launcher says this is rank %d"):format(opts.rank, rank), 2)
  end
  state.device = "cpu"
  if backend == "nccl" then
    local ok, dev = pcall(C.nccl_init, rank, size, timeout)
    if not ok then C.finalize(); error(dev, 2) end
    state.device = "cuda:" .. dev
  end
  state.initialized, state.rank, state.size, state.backend, state.timeout = true, rank, size, backend, timeout
end

function dist.is_initialized() return state.initialized end

local function need(op)
  if not state.initialized then
    error(op .. ": default process group has not been initialized, please make sure to call init_process_group", 3)
  end
end

function dist.get_rank() need("get_rank"); return state.rank end
function dist.get_world_size() need("get_world_size"); return state.size end
function dist.get_backend() need("get_backend"); return state.backend end
function dist.get_timeout() need("get_timeout"); return state.timeout end
-- The device this rank's collectives take tensors on: "cpu" (mpi) or "cuda:N" (nccl).
function dist.get_device() need("get_device"); return state.device end

local function nccl() return state.backend == "nccl" end

function dist.destroy_process_group()
  if not state.initialized then return end
  if nccl() then C.nccl_finalize() end
  C.finalize()
  state.initialized = false
end

local function check_tensor(op, t, level)
  if not torch.is_tensor(t) then
    error(("%s: expected a tensor (got %s)"):format(op, type(t)), level + 1)
  end
  if state.initialized and nccl() then
    if t.device ~= state.device then
      error(("%s: the NCCL backend of rank %d takes tensors on %s (got a tensor on %s)"):format(
        op, state.rank, state.device, t.device), level + 1)
    end
  elseif t.device ~= "cpu" then
    error(("%s: the MPI backend takes CPU tensors (got a tensor on %s)"):format(op, t.device), level + 1)
  end
end

local function check_rank(op, name, r, level)
  if math.type(r) ~= "integer" or r < 0 or r >= state.size then
    error(("%s: %s must be a rank in 0..%d (got %s)"):format(op, name, state.size - 1, tostring(r)), level + 1)
  end
end

local function check_op(op, rop, t, level)
  rop = rop or "sum"
  if not valid_ops[rop] then
    error(("%s: unknown reduce op '%s' (expected sum, avg, max, min or product)"):format(op, tostring(rop)), level + 1)
  end
  if rop == "avg" and not (t.dtype == "float32" or t.dtype == "float64") then
    error(("%s: ReduceOp.AVG needs a floating point tensor (got %s)"):format(op, t.dtype), level + 1)
  end
  return rop
end

-- Runs fn(buf) on a contiguous version of t (t itself when contiguous) and copies the result
-- back into t when a buffer was used and `write` is set.
local function on_contiguous(t, write, fn)
  if t:is_contiguous() then return fn(t) end
  local buf = t:contiguous()
  local r = fn(buf)
  if write then torch.no_grad(function() t:copy_(buf) end) end
  return r
end

local Work = {}
Work.__index = Work
function Work:wait() if not self.done then self.done = true; self.finish() end return true end
function Work:is_completed() return self.done or (self.w and self.w:is_completed()) or false end

-- Wraps a C request: finish() waits for it and runs `after` (copy back, divide for avg).
local function work(cw, after, async)
  local wk = setmetatable({ w = cw, done = false }, Work)
  wk.finish = function() cw:wait(); if after then after() end end
  if async then return wk end
  wk:wait()
  return nil
end

local function prepare(op, t, level)
  check_tensor(op, t, level + 1)
  need(op)
  C.check(t, op)
end

-- all_reduce(t, op="sum", {async_op=}) reduces t in place over all ranks.
function dist.all_reduce(t, rop, opts)
  if type(rop) == "table" then rop, opts = rop.op, rop end
  opts = opts or {}
  check_tensor("all_reduce", t, 2)
  rop = check_op("all_reduce", rop, t, 2)
  prepare("all_reduce", t, 2)
  local buf = t:is_contiguous() and t or t:contiguous()
  local native_avg = nccl() -- NCCL averages itself (ncclAvg)
  local cw = native_avg and C.nccl_allreduce(buf, rop, "all_reduce")
    or C.iallreduce(buf, rop == "avg" and "sum" or rop, "all_reduce")
  return work(cw, function()
    torch.no_grad(function()
      if rop == "avg" and not native_avg then buf:div_(state.size) end
      if buf ~= t then t:copy_(buf) end
    end)
  end, opts.async_op)
end

-- reduce(t, dst, op="sum"): the result lands in t on rank dst (others: t is unspecified).
function dist.reduce(t, dst, rop, opts)
  if type(rop) == "table" then rop, opts = rop.op, rop end
  opts = opts or {}
  need("reduce")
  check_tensor("reduce", t, 2)
  check_rank("reduce", "dst", dst, 2)
  rop = check_op("reduce", rop, t, 2)
  prepare("reduce", t, 2)
  local buf = t:is_contiguous() and t or t:contiguous()
  local native_avg = nccl()
  local cw = native_avg and C.nccl_reduce(buf, rop, dst) or C.ireduce(buf, rop == "avg" and "sum" or rop, dst)
  return work(cw, function()
    if state.rank ~= dst then return end
    torch.no_grad(function()
      if rop == "avg" and not native_avg then buf:div_(state.size) end
      if buf ~= t then t:copy_(buf) end
    end)
  end, opts.async_op)
end

-- broadcast(t, src): every rank's t becomes rank src's t.
function dist.broadcast(t, src, opts)
  opts = opts or {}
  need("broadcast")
  check_tensor("broadcast", t, 2)
  check_rank("broadcast", "src", src, 2)
  prepare("broadcast", t, 2)
  local buf = t:is_contiguous() and t or t:contiguous()
  local cw = nccl() and C.nccl_bcast(buf, src) or C.ibcast(buf, src)
  return work(cw, function()
    if buf ~= t then torch.no_grad(function() t:copy_(buf) end) end
  end, opts.async_op)
end

-- all_gather(list_out, t): list_out[r + 1] receives rank r's t (Lua lists are 1-based; the
-- list holds world_size tensors shaped like t). all_gather(t) returns a new list.
function dist.all_gather(list_out, t, opts)
  local ret = false
  if torch.is_tensor(list_out) then list_out, t, opts, ret = nil, list_out, t, true end
  opts = opts or {}
  need("all_gather")
  check_tensor("all_gather", t, 2)
  if list_out ~= nil then
    if type(list_out) ~= "table" or #list_out ~= state.size then
      error(("all_gather: expected a list of %d tensors (got %s)"):format(state.size,
        type(list_out) == "table" and ("a list of " .. #list_out) or type(list_out)), 2)
    end
    for i, o in ipairs(list_out) do
      if not torch.is_tensor(o) or o.shape ~= t.shape or o.dtype ~= t.dtype then
        error(("all_gather: list_out[%d] must be a %s tensor of shape %s"):format(i, t.dtype, tostring(t.shape)), 2)
      end
    end
  end
  prepare("all_gather", t, 2)
  local src = t:contiguous()
  local shape = { state.size }
  for d = 1, t:dim() do shape[d + 1] = t:size(d) end
  local out = torch.empty(shape, { dtype = t.dtype, device = t.device })
  local cw = nccl() and C.nccl_allgather(src, out) or C.iallgather(src, out)
  local result = list_out or {}
  local wk = work(cw, function()
    torch.no_grad(function()
      for r = 1, state.size do
        if list_out then list_out[r]:copy_(out[r]) else result[r] = out[r]:clone() end
      end
    end)
  end, opts.async_op)
  if ret and not opts.async_op then return result end
  return wk or result
end

function dist.barrier(opts)
  opts = opts or {}
  need("barrier")
  if nccl() then C.nccl_sync("barrier") end -- the GPU work queued so far, then the ranks
  return work(C.ibarrier(), nil, opts.async_op)
end

-- Internal, for DistributedDataParallel: start an all-reduce (sum) on a contiguous buffer
-- without the shape check (every rank built identical buckets); returns the C request.
function dist._iallreduce_nocheck(buf, name)
  need(name or "all_reduce")
  if nccl() then return C.nccl_allreduce(buf, "sum", name or "all_reduce") end
  return C.iallreduce(buf, "sum", name or "all_reduce")
end

function dist._install(t)
  torch = t
  t.distributed = dist
end

if not torch then torch = package.loaded.torch end
return dist
