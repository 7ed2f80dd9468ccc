-- nn.Linear(in_features, out_features, bias=true): y = x W^T + b; W (out, in).
local torch = require "torch"
local nn = require "nn"
local U = require "nn._util"

local Linear = nn.Module:extend("Linear")

function Linear:__init(...)
  local a = U.args("Linear", { "in_features", "out_features", "bias", "device", "dtype" }, { bias = true }, ...)
  if math.type(a.in_features) ~= "integer" or math.type(a.out_features) ~= "integer" then
    error("Linear: in_features and out_features must be integers", 2)
  end
  self.in_features, self.out_features = a.in_features, a.out_features
  local o = U.opts(a)
  self.weight = nn.Parameter(torch.empty({ a.out_features, a.in_features }, o))
  if a.bias then self.bias = nn.Parameter(torch.empty({ a.out_features }, o)) end
  self:reset_parameters()
end

function Linear:reset_parameters()
  -- kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)); bias the same bound
  nn.init.kaiming_uniform_(self.weight, math.sqrt(5))
  if self.bias then
    local fan_in = self.in_features
    local bound = fan_in > 0 and 1 / math.sqrt(fan_in) or 0
    nn.init.uniform_(self.bias, -bound, bound)
  end
end

function Linear:forward(x)
  if not torch.is_tensor(x) then self:_error("expected a tensor input, got " .. type(x)) end
  if x:dim() == 0 or x:size(-1) ~= self.in_features then
    self:_error(string.format("input has %d features (shape %s)", x:dim() == 0 and 0 or x:size(-1), U.shape_str(x)))
  end
  -- 2-D input with a bias: one fused addmm node (bias + x @ W^T), as F.linear
  if self.bias and x:dim() == 2 then return torch.addmm(self.bias, x, self.weight:t()) end
  local y = x:matmul(self.weight:t())
  if self.bias then y = y + self.bias end
  return y
end

function Linear:extra_repr()
  return string.format("in_features=%d, out_features=%d, bias=%s", self.in_features, self.out_features,
    U.py(self.bias ~= nil))
end

return Linear
