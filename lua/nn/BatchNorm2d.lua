-- nn.BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=true, track_running_stats=true)
-- on (N, C, H, W). momentum=false (PyTorch's None) averages cumulatively.
local U = require "nn._util"
local BN = require "nn._BatchNorm"
local BatchNorm2d = BN:extend("BatchNorm2d")
function BatchNorm2d:__init(...) BN._setup(self, "BatchNorm2d", ...) end
function BatchNorm2d:_check_input_dim(x)
  if x:dim() ~= 4 then self:_error(string.format("expected 4D input (got %dD input)", x:dim()), 2) end
  if x:size(2) ~= self.num_features then
    self:_error(string.format("input has %d channels, expected %d (input shape %s)", x:size(2), self.num_features,
      U.shape_str(x)), 2)
  end
end
return BatchNorm2d
