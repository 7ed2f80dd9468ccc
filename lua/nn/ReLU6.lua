-- nn.ReLU6(inplace=false): min(max(x, 0), 6)
local nn = require "nn"
local U = require "nn._util"
local ReLU6 = nn.Module:extend("ReLU6")
function ReLU6:__init(...)
  local a = U.args("ReLU6", { "inplace" }, { inplace = false }, ...)
  for k, v in pairs(a) do self[k] = v end
end
function ReLU6:forward(x) return U.F().relu6(x) end
function ReLU6:extra_repr() return self.inplace and "inplace=True" or "" end
local _ = U
return ReLU6
