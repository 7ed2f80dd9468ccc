-- nn.GroupNorm(num_groups, num_channels, eps=1e-5, affine=true) on (N, C, *).
local torch = require "torch"
local nn = require "nn"
local U = require "nn._util"
local GroupNorm = nn.Module:extend("GroupNorm")
function GroupNorm:__init(...)
  local a = U.args("GroupNorm", { "num_groups", "num_channels", "eps", "affine", "device", "dtype" },
    { eps = 1e-5, affine = true }, ...)
  if math.type(a.num_groups) ~= "integer" or math.type(a.num_channels) ~= "integer" then
    error("GroupNorm: num_groups and num_channels must be integers", 2)
  end
  if a.num_channels % a.num_groups ~= 0 then error("GroupNorm: num_channels must be divisible by num_groups", 2) end
  self.num_groups, self.num_channels, self.eps, self.affine = a.num_groups, a.num_channels, a.eps, a.affine
  local o = U.opts(a)
  if a.affine then
    self.weight = nn.Parameter(torch.ones({ a.num_channels }, o))
    self.bias = nn.Parameter(torch.zeros({ a.num_channels }, o))
  end
end
function GroupNorm:forward(x)
  return U.F().group_norm(x, self.num_groups, self.weight, self.bias, self.eps)
end
function GroupNorm:extra_repr()
  return string.format("%d, %d, eps=%s, affine=%s", self.num_groups, self.num_channels, U.py(self.eps), U.py(self.affine))
end
return GroupNorm
