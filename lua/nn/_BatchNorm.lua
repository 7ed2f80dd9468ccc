-- The base of BatchNorm1d/2d (PyTorch's _BatchNorm): running statistics buffers,
-- momentum (nil = cumulative moving average), affine, track_running_stats, eval mode.
local torch = require "torch"
local nn = require "nn"
local U = require "nn._util"

local BN = nn.Module:extend("_BatchNorm")

function BN._setup(self, name, ...)
  local a = U.args(name, { "num_features", "eps", "momentum", "affine", "track_running_stats", "device", "dtype" },
    { eps = 1e-5, momentum = 0.1, affine = true, track_running_stats = true }, ...)
  if math.type(a.num_features) ~= "integer" then error(name .. ": num_features must be an integer", 3) end
  -- PyTorch's momentum=None (cumulative average) is momentum=false: Lua can't pass nil by name
  if a.momentum == false then a.momentum = nil end
  self.num_features, self.eps, self.momentum = a.num_features, a.eps, a.momentum
  self.affine, self.track_running_stats = a.affine, a.track_running_stats
  local o = U.opts(a)
  if a.affine then
    self.weight = nn.Parameter(torch.ones({ a.num_features }, o))
    self.bias = nn.Parameter(torch.zeros({ a.num_features }, o))
  end
  if a.track_running_stats then
    self:register_buffer("running_mean", torch.zeros({ a.num_features }, o))
    self:register_buffer("running_var", torch.ones({ a.num_features }, o))
    self:register_buffer("num_batches_tracked", torch.tensor(0, { dtype = "int64", device = a.device or "cpu" }))
  end
end

function BN:reset_running_stats()
  if self.track_running_stats then
    torch.no_grad(function()
      self.running_mean:zero_()
      self.running_var:fill_(1)
      self.num_batches_tracked:zero_()
    end)
  end
end

function BN:reset_parameters()
  self:reset_running_stats()
  if self.affine then
    nn.init.ones_(self.weight)
    nn.init.zeros_(self.bias)
  end
end

function BN:forward(x)
  self:_check_input_dim(x)
  local eaf = self.momentum or 0.0
  if self.training and self.track_running_stats then
    local nbt = self.num_batches_tracked
    torch.no_grad(function() nbt:add_(1) end)
    if self.momentum == nil then eaf = 1.0 / nbt:item() else eaf = self.momentum end
  end
  local bn_training = self.training or (self.running_mean == nil and self.running_var == nil)
  local use_stats = (not self.training) or self.track_running_stats
  return U.F().batch_norm(x, use_stats and self.running_mean or nil, use_stats and self.running_var or nil,
    self.weight, self.bias, bn_training, eaf, self.eps)
end

function BN:extra_repr()
  return string.format("%d, eps=%s, momentum=%s, affine=%s, track_running_stats=%s", self.num_features,
    U.py(self.eps), U.py(self.momentum), U.py(self.affine), U.py(self.track_running_stats))
end

return BN
