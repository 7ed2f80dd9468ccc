-- nn.Tanh()
local nn = require "nn"
local U = require "nn._util"
local Tanh = nn.Module:extend("Tanh")
function Tanh:__init(...)
  local a = U.args("Tanh", {  }, {  }, ...)
  for k, v in pairs(a) do self[k] = v end
end
function Tanh:forward(x) return x:tanh() end
function Tanh:extra_repr() return "" end
local _ = U
return Tanh
