-- nn.parallel.DistributedDataParallel(module, {bucket_cap_mb=25, broadcast_buffers=true})
-- (PyTorch's torch.nn.parallel.DistributedDataParallel) over torch.distributed:
--
--  * construction broadcasts the parameters and buffers from rank 0 (the first rank: ranks
--    are 0-based like PyTorch's; API.md's "from rank 1" in its 1-based spirit means the
--    same process), so every replica starts identical;
--  * forward delegates to the wrapped module (`ddp.module`; parameters() and state_dict()
--    name it "module.", as in PyTorch); with broadcast_buffers, buffers (BatchNorm running
--    stats) are re-broadcast from rank 0 before each forward;
--  * backward: a hook on every parameter that requires grad sees its gradient as soon as the
--    autograd engine has it, copies the accumulated gradient (.grad so far + this one) into
--    its slot of a flat bucket (about bucket_cap_mb MB, parameters in reverse order, one
--    dtype per bucket) and, once a bucket is full, starts a non-blocking all-reduce on it, so
--    communication overlaps with the rest of backward. Buckets start strictly in order (the
--    same on every rank; one dtype and device per bucket: CUDA parameters under the NCCL
--    backend get buckets on their GPU). A callback queued on the engine (torch.autograd._queue_callback)
--    runs when backward finishes: it starts buckets whose parameters got no gradient, waits
--    for all (with the process group's timeout), divides by world_size and writes the
--    averaged gradient into each parameter's .grad. Replicas stay identical step after step.
--  * no_sync(fn) / `local _ <close> = ddp:no_sync()`: backward passes inside accumulate
--    gradients locally without communication; the next synchronised backward all-reduces
--    the whole accumulated .grad (PyTorch's gradient-accumulation recipe).
local nn = require "nn"

local DDP = nn.Module:extend("DistributedDataParallel")

local function dist() return torch.distributed end

local function broadcast_list(ts)
  torch.no_grad(function()
    for _, t in ipairs(ts) do dist().broadcast(t, 0) end
  end)
end

function DDP:__init(module, opts)
  opts = opts or {}
  if not (type(module) == "table" and module.parameters) then
    error("DistributedDataParallel: argument 1 must be an nn.Module", 3)
  end
  if not dist().is_initialized() then
    error("DistributedDataParallel: default process group has not been initialized, please make sure to call init_process_group", 3)
  end
  local cap = opts.bucket_cap_mb or 25
  if type(cap) ~= "number" or cap <= 0 then
    error(("DistributedDataParallel: bucket_cap_mb must be a positive number (got %s)"):format(tostring(cap)), 3)
  end
  self.module = module
  local st = {
    world = dist().get_world_size(),
    require_sync = true,
    broadcast_buffers = opts.broadcast_buffers ~= false,
    buckets = {}, -- { flat=, dtype=, slots={ {p=, off=, n=} }, pending=, launched=, work= }
    slot_of = {}, -- param -> { bucket=, slot= }
    in_backward = false,
  }
  rawset(self, "_ddp", st)

  -- identical start: parameters and buffers from rank 0
  broadcast_list(module:parameters())
  broadcast_list(module:buffers())

  -- buckets over the parameters that require grad, in reverse registration order (the order
  -- backward tends to produce their gradients), one dtype per bucket
  local params = {}
  for _, p in ipairs(module:parameters()) do
    if p.requires_grad then params[#params + 1] = p end
  end
  local cap_bytes = cap * 1024 * 1024
  local cur
  for i = #params, 1, -1 do
    local p = params[i]
    local bytes = p:numel() * p:element_size()
    if not cur or cur.dtype ~= p.dtype or cur.device ~= p.device
        or (cur.bytes > 0 and cur.bytes + bytes > cap_bytes) then
      cur = { dtype = p.dtype, device = p.device, slots = {}, numel = 0, bytes = 0 }
      st.buckets[#st.buckets + 1] = cur
    end
    cur.slots[#cur.slots + 1] = { p = p, off = cur.numel, n = p:numel() }
    st.slot_of[p] = { bucket = cur, slot = cur.slots[#cur.slots] }
    cur.numel, cur.bytes = cur.numel + p:numel(), cur.bytes + bytes
  end
  for bi, b in ipairs(st.buckets) do
    b.index = bi
    b.flat = torch.zeros(b.numel, { dtype = b.dtype, device = b.device })
  end
  for _, p in ipairs(params) do
    p:register_hook(function(g) self:_grad_ready(p, g) end)
  end
end

-- Starts every bucket that is full, in bucket order, up to the first one that is not.
local function launch_ready(st)
  while st.next_launch <= #st.buckets do
    local b = st.buckets[st.next_launch]
    if b.pending > 0 then return end
    b.work = dist()._iallreduce_nocheck(b.flat, "DistributedDataParallel all_reduce")
    st.next_launch = st.next_launch + 1
  end
end

-- The first gradient of a backward: reset the buckets and queue the end-of-backward callback.
local function begin_backward(self, st)
  st.in_backward = true
  st.next_launch = 1
  for _, b in ipairs(st.buckets) do
    b.pending, b.work = #b.slots, nil
    for _, s in ipairs(b.slots) do s.ready = false end
  end
  torch.autograd._queue_callback(function() self:_finish_backward() end)
end

function DDP:_grad_ready(p, g)
  local st = rawget(self, "_ddp")
  if not st.require_sync then return nil end
  if not st.in_backward then begin_backward(self, st) end
  local where = st.slot_of[p]
  local b, s = where.bucket, where.slot
  if s.ready then return nil end
  torch.no_grad(function()
    local view = b.flat:narrow(1, s.off + 1, s.n)
    local acc = p.grad and (p.grad + g) or g
    view:copy_(acc:reshape(-1))
  end)
  s.ready = true
  b.pending = b.pending - 1
  if b.pending == 0 then launch_ready(st) end
  -- drive MPI's progress on the buckets already in flight
  for i = 1, st.next_launch - 1 do
    local w = st.buckets[i].work
    if w then w:is_completed() end
  end
  return nil
end

function DDP:_finish_backward()
  local st = rawget(self, "_ddp")
  if not st.in_backward then return end
  st.in_backward = false
  torch.no_grad(function()
    -- parameters that got no gradient this time contribute their current .grad (or zeros)
    for _, b in ipairs(st.buckets) do
      if b.pending > 0 then
        for _, s in ipairs(b.slots) do
          if not s.ready then
            local view = b.flat:narrow(1, s.off + 1, s.n)
            if s.p.grad then view:copy_(s.p.grad:reshape(-1)) else view:zero_() end
          end
        end
        b.pending = 0
      end
    end
    launch_ready(st)
    for _, b in ipairs(st.buckets) do
      b.work:wait()
      b.work = nil
      b.flat:div_(st.world)
      for _, s in ipairs(b.slots) do
        local avg = b.flat:narrow(1, s.off + 1, s.n):view(s.p.shape)
        if s.p.grad then
          s.p.grad:copy_(avg)
        elseif s.ready then
          s.p.grad = avg:clone()
        end
      end
    end
  end)
end

function DDP:forward(...)
  local st = rawget(self, "_ddp")
  if st.broadcast_buffers and st.world > 1 and self.module.training ~= false then
    local bufs = self.module:buffers()
    if #bufs > 0 then broadcast_list(bufs) end
  end
  return self.module(...)
end

-- no_sync(fn, ...) runs fn without gradient synchronisation and returns its results;
-- no_sync() returns a to-be-closed guard (`local _ <close> = ddp:no_sync()`).
local Guard = { __name = "DistributedDataParallel.no_sync" }
Guard.__index = Guard
Guard.__close = function(g) g.st.require_sync = g.prev end

function DDP:no_sync(fn, ...)
  local st = rawget(self, "_ddp")
  local prev = st.require_sync
  st.require_sync = false
  if fn == nil then return setmetatable({ st = st, prev = prev }, Guard) end
  local res = table.pack(pcall(fn, ...))
  st.require_sync = prev
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

return DDP
