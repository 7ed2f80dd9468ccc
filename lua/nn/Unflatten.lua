-- nn.Unflatten(dim, unflattened_size): dim 1-based.
local nn = require "nn"
local U = require "nn._util"
local Unflatten = nn.Module:extend("Unflatten")
function Unflatten:__init(...)
  local a = U.args("Unflatten", { "dim", "unflattened_size" }, {}, ...)
  if type(a.dim) ~= "number" or type(a.unflattened_size) ~= "table" then
    error("Unflatten: expected (dim, unflattened_size)", 2)
  end
  self.dim = a.dim
  local s = {}
  for i, v in ipairs(a.unflattened_size) do s[i] = v end
  self.unflattened_size = s
end
function Unflatten:forward(x) return x:unflatten(self.dim, self.unflattened_size) end
function Unflatten:extra_repr()
  return string.format("dim=%d, unflattened_size=%s", self.dim, U.py(self.unflattened_size))
end
return Unflatten
