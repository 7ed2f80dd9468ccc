-- nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0,
-- output_padding=0, groups=1, bias=true, dilation=1, padding_mode="zeros");
-- weight (in, out/groups, kh, kw). Only padding_mode "zeros" (as PyTorch).
local U = require "nn._util"
local ConvNd = require "nn._ConvNd"
local ConvTranspose2d = ConvNd:extend("ConvTranspose2d")
function ConvTranspose2d:__init(...)
  ConvNd._setup(self, "ConvTranspose2d", 2, true, ...)
  if self.padding_mode ~= "zeros" then
    error('ConvTranspose2d: only "zeros" padding_mode is supported', 2)
  end
  if type(self.padding) == "string" then error("ConvTranspose2d: padding must be numbers, not '" .. self.padding .. "'", 2) end
end
function ConvTranspose2d:forward(x)
  self:_check_input(x, 4)
  return U.F().conv_transpose2d(x, self.weight, self.bias, { stride = self.stride, padding = self.padding,
    output_padding = self.output_padding, groups = self.groups, dilation = self.dilation })
end
return ConvTranspose2d
