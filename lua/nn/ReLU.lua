-- nn.ReLU(inplace=false): max(x, 0)
local nn = require "nn"
local U = require "nn._util"
local ReLU = nn.Module:extend("ReLU")
function ReLU:__init(...)
  local a = U.args("ReLU", { "inplace" }, { inplace = false }, ...)
  for k, v in pairs(a) do self[k] = v end
end
function ReLU:forward(x) return x:relu() end
function ReLU:extra_repr() return self.inplace and "inplace=True" or "" end
local _ = U
return ReLU
