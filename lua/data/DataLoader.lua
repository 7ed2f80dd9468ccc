-- data.DataLoader(ds, {batch_size=1, shuffle=false, drop_last=false, num_workers=0,
--   collate_fn=, seed=, pin_memory=false, progress=false, sampler=})
--   #loader                             -- number of batches
--   for i, x, y in loader:iter() do     -- i from 1, then the batch's fields
--
-- Shuffling and the batched random transforms draw from the loader's own generator
-- (data.Generator): with seed= the run is reproducible and the global torch generator is not
-- touched; without it the generator is seeded once from the global one (like PyTorch's base
-- seed). Each epoch (each iter()) gets a new permutation.
-- sampler= (e.g. data.DistributedSampler) decides the indices instead: #sampler samples per
-- epoch in the order of sampler:indices() (a list of 1-based indices); not with shuffle=true.
--
-- Fast path: TensorDataset, the built-in datasets and Subsets of them (no collate_fn, and for
-- datasets only built-in transforms and no target_transform) are gathered by index in C into
-- new batch tensors, transforms applied on the whole batch; with num_workers > 0 worker
-- threads prepare batches ahead (bounded queue, 2 per worker). Other datasets are read with
-- per-sample ds:get(i) calls in the main Lua state and collated by collate_fn / the default
-- collate (tensors stacked along a new dim 1, integers -> int64, floats -> float64, booleans
-- -> bool, strings kept in a list, tables collated per key).
local C = require "data._C"
local class = require "torch.class"

local DataLoader = class("DataLoader")

local function check_int(name, v, lo)
  if math.type(v) ~= "integer" or v < lo then
    error(string.format("DataLoader: %s must be an integer >= %d, got %s", name, lo, tostring(v)), 4)
  end
  return v
end

function DataLoader:__init(ds, o)
  if type(ds) ~= "table" or not ds.get then error("DataLoader: argument 1 must be a dataset (with get and __len)", 3) end
  o = o or {}
  if type(o) ~= "table" then error("DataLoader: argument 2 must be an options table", 3) end
  self.dataset = ds
  self.batch_size = check_int("batch_size", o.batch_size or 1, 1)
  self.shuffle = o.shuffle or false
  self.drop_last = o.drop_last or false
  self.num_workers = check_int("num_workers", o.num_workers or 0, 0)
  self.collate_fn = o.collate_fn
  self.sampler = o.sampler
  if self.sampler ~= nil then
    if type(self.sampler) ~= "table" or not self.sampler.indices then
      error("DataLoader: sampler must be a sampler (with indices() and __len), e.g. data.DistributedSampler", 3)
    end
    if self.shuffle then error("DataLoader: sampler option is mutually exclusive with shuffle", 3) end
  end
  self.pin_memory = o.pin_memory or false -- no effect on CPU tensors
  self.progress = o.progress or false
  local seed = o.seed
  if seed == nil then
    local r = torch.randint(0, 2147483647, { 2 }):tolist()
    seed = r[1] * 2147483648 + r[2]
  end
  self.seed = seed
  self.generator = C.Generator(math.tointeger(seed) or error("DataLoader: seed must be an integer", 3))
end

function DataLoader:__len()
  local n = self.sampler and #self.sampler or #self.dataset
  if self.drop_last then return n // self.batch_size end
  return (n + self.batch_size - 1) // self.batch_size
end

function DataLoader:__tostring()
  return string.format("DataLoader(%s, batch_size=%d, shuffle=%s, drop_last=%s, num_workers=%d)",
    tostring(self.dataset.__name), self.batch_size, tostring(self.shuffle), tostring(self.drop_last), self.num_workers)
end

-- ---- default collate ------------------------------------------------------------------------
local function is_array(t)
  return next(t) == nil or t[1] ~= nil
end

function DataLoader.default_collate(batch)
  local elem = batch[1]
  local te = type(elem)
  if torch.is_tensor(elem) then
    return torch.stack(batch)
  elseif te == "number" then
    local all_int = true
    for _, v in ipairs(batch) do
      if type(v) ~= "number" then error("default_collate: mixed numbers and " .. type(v), 2) end
      if math.type(v) ~= "integer" then all_int = false end
    end
    return torch.tensor(batch, { dtype = all_int and "int64" or "float64" })
  elseif te == "boolean" then
    return torch.tensor(batch, { dtype = "bool" })
  elseif te == "string" then
    return batch
  elseif te == "table" then
    local out = {}
    if is_array(elem) then
      local n = #elem
      for _, s in ipairs(batch) do
        if #s ~= n then error("default_collate: each element in list of batch should be of equal size", 2) end
      end
      for k = 1, n do
        local col = {}
        for j, s in ipairs(batch) do col[j] = s[k] end
        out[k] = DataLoader.default_collate(col)
      end
    else
      for k in pairs(elem) do
        local col = {}
        for j, s in ipairs(batch) do col[j] = s[k] end
        out[k] = DataLoader.default_collate(col)
      end
    end
    return out
  end
  error("default_collate: batch must contain tensors, numbers, booleans, strings or tables; found " .. te, 2)
end

local function note_once(self, msg)
  if not self._noted then
    io.stderr:write("DataLoader: ", msg, "\n")
    self._noted = true
  end
end

-- ---- iteration ---------------------------------------------------------------------------------
-- The epoch's order of dataset indices: an int64 tensor (shuffled) or nil (1..n).
function DataLoader:_order(n)
  if self.sampler then return torch.tensor(self.sampler:indices(), { dtype = "int64" }) end
  if self.shuffle then return self.generator:randperm(n) end
  return nil
end

function DataLoader:_fast()
  if self.collate_fn then return nil end
  local ds = self.dataset
  local f = ds._fast and ds:_fast()
  if not f then return nil end
  if not self._pipe or self._pipe_src ~= f then
    local srcs = {}
    for k, t in ipairs(f.sources) do
      if t.device ~= "cpu" then return nil end
      srcs[k] = t:contiguous()
    end
    self._pipe = C.pipeline(srcs, f.tsrc or 0, f.tfs)
    self._nsrc = #srcs
  end
  return f
end

function DataLoader:iter(o)
  if self.progress and not (o and o.no_progress) then
    return require("data.progress")(self):iter()
  end
  local ds, bs = self.dataset, self.batch_size
  local n, nb = self.sampler and #self.sampler or #ds, #self
  local order = self:_order(n)
  local fast = self:_fast()
  local k = 0
  if fast then
    local idx = order or torch.arange(1, n + 1, { dtype = "int64" })
    if fast.map then idx = fast.map:index_select(1, idx) end
    local seeds = {}
    for b = 1, nb do seeds[b] = self.generator:seed() end
    local pipe, nsrc = self._pipe, self._nsrc
    if self.num_workers > 0 then
      local offs = { 0 }
      for b = 1, nb do offs[b + 1] = math.min(b * bs, n) end
      idx = idx:narrow(1, 1, offs[nb + 1]):contiguous()
      local epoch = pipe:epoch(self.num_workers, 2 * self.num_workers, idx, offs, seeds)
      -- the epoch is also the for loop's closing value: a break or an error in the loop body
      -- stops and joins the workers at once instead of at the next garbage collection
      return function()
        k = k + 1
        if k > nb then epoch:close() return nil end
        return k, epoch:next(nsrc)
      end, nil, nil, epoch
    end
    return function()
      k = k + 1
      if k > nb then return nil end
      local start = (k - 1) * bs
      return k, pipe:batch(idx:narrow(1, start + 1, math.min(bs, n - start)), seeds[k])
    end
  end
  if self.num_workers > 0 then
    note_once(self, string.format("num_workers=%d: %s is read by per-sample Lua calls in the main state " ..
      "(worker threads serve only TensorDataset and the built-in datasets with built-in transforms)",
      self.num_workers, tostring(ds.__name or "this dataset")))
  end
  local list = order and order:tolist()
  local collate = self.collate_fn or DataLoader.default_collate
  return function()
    k = k + 1
    if k > nb then return nil end
    local samples = {}
    for j = (k - 1) * bs + 1, math.min(k * bs, n) do
      samples[#samples + 1] = table.pack(ds:get(list and list[j] or j))
      samples[#samples].n = nil
    end
    local b = collate(samples)
    if type(b) == "table" and not torch.is_tensor(b) and b[1] ~= nil then return k, table.unpack(b) end
    return k, b
  end
end

return DataLoader
