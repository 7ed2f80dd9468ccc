-- nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
-- bias=true, padding_mode="zeros"); padding may be "same" or "valid". weight (out, in/groups, kh, kw).
local nn = require "nn"
local ConvNd = require "nn._ConvNd"
local Conv2d = ConvNd:extend("Conv2d")
function Conv2d:__init(...) ConvNd._setup(self, "Conv2d", 2, false, ...) end
function Conv2d:forward(x)
  self:_check_input(x, 4)
  return self:_conv("conv2d", x)
end
local _ = nn
return Conv2d
