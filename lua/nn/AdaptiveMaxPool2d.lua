-- nn.AdaptiveMaxPool2d(output_size, return_indices=false)
local nn = require "nn"
local U = require "nn._util"
local AdaptiveMaxPool2d = nn.Module:extend("AdaptiveMaxPool2d")
function AdaptiveMaxPool2d:__init(...)
  local a = U.args("AdaptiveMaxPool2d", { "output_size", "return_indices" }, { return_indices = false }, ...)
  if a.output_size == nil then error("AdaptiveMaxPool2d: output_size is required", 2) end
  self.output_size, self.return_indices = a.output_size, a.return_indices
end
function AdaptiveMaxPool2d:forward(x)
  return U.F().adaptive_max_pool2d(x, self.output_size, { return_indices = self.return_indices })
end
function AdaptiveMaxPool2d:extra_repr() return "output_size=" .. U.py(self.output_size) end
return AdaptiveMaxPool2d
