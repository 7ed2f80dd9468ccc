-- data.Subset(ds, indices): the samples of ds at indices (a Lua list or an int64 tensor, 1-based).
local Dataset = require "data.Dataset"

local Subset = Dataset:extend("Subset")

function Subset:__init(ds, indices)
  if type(ds) ~= "table" or not ds.get then error("Subset: expected a dataset as argument 1", 3) end
  if torch.is_tensor(indices) then indices = indices:tolist() end
  if type(indices) ~= "table" then error("Subset: indices must be a list or a tensor, got " .. type(indices), 3) end
  local n = #ds
  for k, i in ipairs(indices) do
    if math.type(i) ~= "integer" or i < 1 or i > n then
      error(string.format("Subset: index %s (position %d) out of range 1..%d", tostring(i), k, n), 3)
    end
  end
  self.dataset, self.indices = ds, indices
end

function Subset:__len() return #self.indices end

function Subset:get(i)
  i = self:_check_index(i)
  return self.dataset:get(self.indices[i])
end

-- Fast path: the parent's sources with the index map composed.
function Subset:_fast()
  local inner = self.dataset._fast and self.dataset:_fast()
  if not inner then return nil end
  local map = torch.tensor(self.indices, { dtype = "int64" })
  if #self.indices == 0 then map = torch.zeros(0, { dtype = "int64" }) end
  if inner.map then map = inner.map:index_select(1, map) end
  return { sources = inner.sources, tsrc = inner.tsrc, tfs = inner.tfs, map = map }
end

return Subset
