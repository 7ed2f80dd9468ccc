-- nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=true): normalises the last
-- #normalized_shape dims; weight ones, bias zeros of that shape.
local torch = require "torch"
local nn = require "nn"
local U = require "nn._util"
local LayerNorm = nn.Module:extend("LayerNorm")
function LayerNorm:__init(...)
  local a = U.args("LayerNorm", { "normalized_shape", "eps", "elementwise_affine", "device", "dtype" },
    { eps = 1e-5, elementwise_affine = true }, ...)
  local ns = a.normalized_shape
  if type(ns) == "number" then ns = { ns } end
  if type(ns) ~= "table" then error("LayerNorm: normalized_shape must be a number or a list", 2) end
  local s = {}
  for i, v in ipairs(ns) do s[i] = v end
  self.normalized_shape, self.eps, self.elementwise_affine = s, a.eps, a.elementwise_affine
  local o = U.opts(a)
  if a.elementwise_affine then
    self.weight = nn.Parameter(torch.ones(s, o))
    self.bias = nn.Parameter(torch.zeros(s, o))
  end
end
function LayerNorm:forward(x)
  return U.F().layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
end
function LayerNorm:extra_repr()
  return string.format("%s, eps=%s, elementwise_affine=%s", U.py(self.normalized_shape), U.py(self.eps),
    U.py(self.elementwise_affine))
end
return LayerNorm
