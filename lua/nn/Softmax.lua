-- nn.Softmax(dim): dim is 1-based
local nn = require "nn"
local U = require "nn._util"
local Softmax = nn.Module:extend("Softmax")
function Softmax:__init(...)
  local a = U.args("Softmax", { "dim" }, {  }, ...)
  for k, v in pairs(a) do self[k] = v end
end
function Softmax:forward(x) return x:softmax(self.dim) end
function Softmax:extra_repr() return "dim=" .. U.py(self.dim) end
local _ = U
return Softmax
