-- nn.Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
-- bias=true, padding_mode="zeros"); weight (out, in/groups, k).
local ConvNd = require "nn._ConvNd"
local Conv1d = ConvNd:extend("Conv1d")
function Conv1d:__init(...) ConvNd._setup(self, "Conv1d", 1, false, ...) end
function Conv1d:forward(x)
  self:_check_input(x, 3)
  return self:_conv("conv1d", x)
end
return Conv1d
