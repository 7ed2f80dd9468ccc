-- nn.Sigmoid()
local nn = require "nn"
local U = require "nn._util"
local Sigmoid = nn.Module:extend("Sigmoid")
function Sigmoid:__init(...)
  local a = U.args("Sigmoid", {  }, {  }, ...)
  for k, v in pairs(a) do self[k] = v end
end
function Sigmoid:forward(x) return x:sigmoid() end
function Sigmoid:extra_repr() return "" end
local _ = U
return Sigmoid
