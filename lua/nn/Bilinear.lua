-- nn.Bilinear(in1, in2, out, bias=true): y_k = x1^T A_k x2 + b_k; weight (out, in1, in2).
local torch = require "torch"
local nn = require "nn"
local U = require "nn._util"

local Bilinear = nn.Module:extend("Bilinear")

function Bilinear:__init(...)
  local a = U.args("Bilinear", { "in1_features", "in2_features", "out_features", "bias", "device", "dtype" }, { bias = true }, ...)
  self.in1_features, self.in2_features, self.out_features = a.in1_features, a.in2_features, a.out_features
  local o = U.opts(a)
  self.weight = nn.Parameter(torch.empty({ a.out_features, a.in1_features, a.in2_features }, o))
  if a.bias then self.bias = nn.Parameter(torch.empty({ a.out_features }, o)) end
  self:reset_parameters()
end

function Bilinear:reset_parameters()
  local bound = 1 / math.sqrt(self.weight:size(2))
  nn.init.uniform_(self.weight, -bound, bound)
  if self.bias then nn.init.uniform_(self.bias, -bound, bound) end
end

function Bilinear:forward(x1, x2)
  if x1:size(-1) ~= self.in1_features then self:_error(string.format("input1 has %d features", x1:size(-1))) end
  if x2:size(-1) ~= self.in2_features then self:_error(string.format("input2 has %d features", x2:size(-1))) end
  -- (..., in1) -> (..., 1, 1, in1) @ (out, in1, in2) -> (..., out, 1, in2) * x2 -> sum
  local t = x1:unsqueeze(-2):unsqueeze(-2):matmul(self.weight) -- (..., out, 1, in2)
  local y = (t:squeeze(-2) * x2:unsqueeze(-2)):sum(-1)       -- (..., out)
  if self.bias then y = y + self.bias end
  return y
end

function Bilinear:extra_repr()
  return string.format("in1_features=%d, in2_features=%d, out_features=%d, bias=%s", self.in1_features,
    self.in2_features, self.out_features, U.py(self.bias ~= nil))
end

return Bilinear
