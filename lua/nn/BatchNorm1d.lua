-- nn.BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=true, track_running_stats=true)
-- on (N, C) or (N, C, L).
local U = require "nn._util"
local BN = require "nn._BatchNorm"
local BatchNorm1d = BN:extend("BatchNorm1d")
function BatchNorm1d:__init(...) BN._setup(self, "BatchNorm1d", ...) end
function BatchNorm1d:_check_input_dim(x)
  if x:dim() ~= 2 and x:dim() ~= 3 then
    self:_error(string.format("expected 2D or 3D input (got %dD input)", x:dim()), 2)
  end
  if x:size(2) ~= self.num_features then
    self:_error(string.format("input has %d features, expected %d (input shape %s)", x:size(2), self.num_features,
      U.shape_str(x)), 2)
  end
end
return BatchNorm1d
