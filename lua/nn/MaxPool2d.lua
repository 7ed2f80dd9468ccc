-- nn.MaxPool2d(kernel_size, stride=kernel_size, padding=0, dilation=1, return_indices=false, ceil_mode=false)
local nn = require "nn"
local U = require "nn._util"
local MaxPool2d = nn.Module:extend("MaxPool2d")
function MaxPool2d:__init(...)
  local a = U.args("MaxPool2d", { "kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode" },
    { padding = 0, dilation = 1, return_indices = false, ceil_mode = false }, ...)
  if a.kernel_size == nil then error("MaxPool2d: kernel_size is required", 2) end
  self.kernel_size = a.kernel_size
  self.stride = a.stride or a.kernel_size
  self.padding, self.dilation = a.padding, a.dilation
  self.return_indices, self.ceil_mode = a.return_indices, a.ceil_mode
end
function MaxPool2d:forward(x)
  return U.F().max_pool2d(x, self.kernel_size, { stride = self.stride, padding = self.padding,
    dilation = self.dilation, ceil_mode = self.ceil_mode, return_indices = self.return_indices })
end
function MaxPool2d:extra_repr()
  return string.format("kernel_size=%s, stride=%s, padding=%s, dilation=%s, ceil_mode=%s", U.py(self.kernel_size),
    U.py(self.stride), U.py(self.padding), U.py(self.dilation), U.py(self.ceil_mode))
end
return MaxPool2d
