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

local linear = torch._nn.linear
function Linear:forward(x)
  local p = self._parameters.map -- the registry itself (a raw field): no __index call per read
  local y = linear(x, p.weight, p.bias) -- nothing when x does not fit: diagnose below
  if y then return y end
  if not torch.is_tensor(x) then self:_error("expected a tensor input, got " .. type(x)) end
  self:_error(string.format("input has %d features (shape %s)", x:dim() == 0 and 0 or x:size(-1), U.shape_str(x)))
end

function Linear:extra_repr()
  return string.format("in_features=%d, out_features=%d, bias=%s", self.in_features, self.out_features,
    U.py(self.bias ~= nil))
end

return Linear
