-- nn.AvgPool2d(kernel_size, stride=kernel_size, padding=0, ceil_mode=false,
-- count_include_pad=true, divisor_override=nil)
local nn = require "nn"
local U = require "nn._util"
local AvgPool2d = nn.Module:extend("AvgPool2d")
function AvgPool2d:__init(...)
  local a = U.args("AvgPool2d", { "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
    "divisor_override" }, { padding = 0, ceil_mode = false, count_include_pad = true }, ...)
  if a.kernel_size == nil then error("AvgPool2d: kernel_size is required", 2) end
  self.kernel_size = a.kernel_size
  self.stride = a.stride or a.kernel_size
  self.padding, self.ceil_mode, self.count_include_pad = a.padding, a.ceil_mode, a.count_include_pad
  self.divisor_override = a.divisor_override
end
function AvgPool2d:forward(x)
  return U.F().avg_pool2d(x, self.kernel_size, { stride = self.stride, padding = self.padding,
    ceil_mode = self.ceil_mode, count_include_pad = self.count_include_pad, divisor_override = self.divisor_override })
end
function AvgPool2d:extra_repr()
  return string.format("kernel_size=%s, stride=%s, padding=%s", U.py(self.kernel_size), U.py(self.stride),
    U.py(self.padding))
end
return AvgPool2d
