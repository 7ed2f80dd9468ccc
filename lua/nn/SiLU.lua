-- nn.SiLU(inplace=false): x * sigmoid(x)
local nn = require "nn"
local U = require "nn._util"
local SiLU = nn.Module:extend("SiLU")
function SiLU:__init(...)
  local a = U.args("SiLU", { "inplace" }, { inplace = false }, ...)
  for k, v in pairs(a) do self[k] = v end
end
function SiLU:forward(x) return U.F().silu(x) end
function SiLU:extra_repr() return self.inplace and "inplace=True" or "" end
local _ = U
return SiLU
