-- data.TensorDataset(t1, t2, ...): sample i is t1[i], t2[i], ... (all tensors share dim 1).
local Dataset = require "data.Dataset"

local TensorDataset = Dataset:extend("TensorDataset")

function TensorDataset:__init(...)
  local ts = table.pack(...)
  if ts.n == 0 then error("TensorDataset: expected at least one tensor", 3) end
  for k = 1, ts.n do
    local t = ts[k]
    if not torch.is_tensor(t) then
      error(string.format("TensorDataset: argument %d is a %s, expected a tensor", k, type(t)), 3)
    end
    if t:dim() == 0 then error(string.format("TensorDataset: tensor %d is 0-d; need a first dimension", k), 3) end
    if t:size(1) ~= ts[1]:size(1) then
      error(string.format("TensorDataset: size mismatch between tensors (tensor 1 has %d samples, tensor %d has %d)",
        ts[1]:size(1), k, t:size(1)), 3)
    end
  end
  self.tensors = { table.unpack(ts, 1, ts.n) }
end

function TensorDataset:__len() return self.tensors[1]:size(1) end

-- ds:get(i) returns sample i; like PyTorch's ds[index], any other tensor index works on all
-- tensors at once: ds:get({a, b}) is the inclusive range a..b (the seed's train_ds[a:b]),
-- ds:get(int64 tensor) gathers.
function TensorDataset:get(i)
  if type(i) == "table" or torch.is_tensor(i) then
    local key = torch.is_tensor(i) and i or { i }
    local out = {}
    for k, t in ipairs(self.tensors) do out[k] = t[key] end
    return table.unpack(out)
  end
  i = self:_check_index(i)
  local out = {}
  for k, t in ipairs(self.tensors) do out[k] = t[i] end
  return table.unpack(out)
end

-- The DataLoader's fast path: the tensors themselves, gathered by index in C.
function TensorDataset:_fast() return { sources = self.tensors, tsrc = 0 } end

return TensorDataset
