-- nn.AdaptiveAvgPool2d(output_size): a number or {h, w}.
local nn = require "nn"
local U = require "nn._util"
local AdaptiveAvgPool2d = nn.Module:extend("AdaptiveAvgPool2d")
function AdaptiveAvgPool2d:__init(...)
  local a = U.args("AdaptiveAvgPool2d", { "output_size" }, {}, ...)
  if a.output_size == nil then error("AdaptiveAvgPool2d: output_size is required", 2) end
  self.output_size = a.output_size
end
function AdaptiveAvgPool2d:forward(x) return U.F().adaptive_avg_pool2d(x, self.output_size) end
function AdaptiveAvgPool2d:extra_repr() return "output_size=" .. U.py(self.output_size) end
return AdaptiveAvgPool2d
