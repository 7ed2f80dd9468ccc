-- data.DistributedSampler(ds, {num_replicas=, rank=, shuffle=true, seed=0, drop_last=false})
-- (PyTorch's torch.utils.data.distributed.DistributedSampler): each rank draws its own shard
-- of the dataset; pass it to data.DataLoader(ds, {sampler=s}) and call s:set_epoch(e) before
-- each epoch so that every epoch is shuffled differently (identically on every rank).
--
-- rank is 0-based like torch.distributed.get_rank(); num_replicas and rank default to the
-- process group's. Without drop_last the index list is padded by repeating its first indices
-- up to a multiple of num_replicas (every rank gets the same number of samples, so no rank
-- waits for a missing batch); with drop_last the tail is dropped instead. Rank r takes
-- positions r+1, r+1+num_replicas, ... of the (shuffled, padded) list.
-- The shuffle is data.Generator(seed + epoch):randperm(#ds): the same on every rank, but not
-- PyTorch's permutation (a different generator).
local C = require "data._C"
local class = require "torch.class"

local DistributedSampler = class("DistributedSampler")

local function int_opt(name, v, lo)
  if math.type(v) ~= "integer" or v < lo then
    error(("DistributedSampler: %s must be an integer >= %d (got %s)"):format(name, lo, tostring(v)), 4)
  end
  return v
end

function DistributedSampler:__init(ds, o)
  if type(ds) ~= "table" and type(ds) ~= "userdata" then
    error("DistributedSampler: argument 1 must be a dataset", 3)
  end
  o = o or {}
  local dist = torch.distributed
  local nr, rank = o.num_replicas, o.rank
  if nr == nil or rank == nil then
    if not dist.is_initialized() then
      error("DistributedSampler: give num_replicas= and rank=, or call torch.distributed.init_process_group first", 3)
    end
    nr = nr or dist.get_world_size()
    rank = rank or dist.get_rank()
  end
  self.num_replicas = int_opt("num_replicas", nr, 1)
  self.rank = int_opt("rank", rank, 0)
  if self.rank >= self.num_replicas then
    error(("DistributedSampler: invalid rank %d, rank should be in the interval [0, %d]"):format(self.rank, self.num_replicas - 1), 3)
  end
  self.dataset = ds
  self.shuffle = o.shuffle ~= false
  self.seed = int_opt("seed", o.seed or 0, 0)
  self.drop_last = o.drop_last or false
  self.epoch = 0
  local n = #ds
  if self.drop_last and n % self.num_replicas ~= 0 then
    self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
  else
    self.num_samples = math.ceil(n / self.num_replicas)
  end
  self.num_samples = math.tointeger(math.max(self.num_samples, 0))
  self.total_size = self.num_samples * self.num_replicas
end

function DistributedSampler:set_epoch(e)
  self.epoch = int_opt("epoch", e, 0)
end

function DistributedSampler:__len() return self.num_samples end

-- This rank's dataset indices (1-based) for the current epoch, as a Lua list.
function DistributedSampler:indices()
  local n = #self.dataset
  local all
  if self.shuffle then
    all = C.Generator(self.seed + self.epoch):randperm(n):tolist()
  else
    all = {}
    for i = 1, n do all[i] = i end
  end
  if not self.drop_last then
    local k = #all
    for j = k + 1, self.total_size do all[j] = all[(j - k - 1) % k + 1] end
  end
  local mine = {}
  for j = self.rank + 1, self.total_size, self.num_replicas do mine[#mine + 1] = all[j] end
  return mine
end

function DistributedSampler:__tostring()
  return ("DistributedSampler(num_replicas=%d, rank=%d, shuffle=%s, seed=%d, drop_last=%s, epoch=%d)"):format(
    self.num_replicas, self.rank, tostring(self.shuffle), self.seed, tostring(self.drop_last), self.epoch)
end

return DistributedSampler
