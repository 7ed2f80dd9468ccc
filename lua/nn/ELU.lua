-- nn.ELU(alpha=1.0, inplace=false)
local nn = require "nn"
local U = require "nn._util"
local ELU = nn.Module:extend("ELU")
function ELU:__init(...)
  local a = U.args("ELU", { "alpha", "inplace" }, { alpha = 1.0, inplace = false }, ...)
  for k, v in pairs(a) do self[k] = v end
end
function ELU:forward(x) return U.F().elu(x, self.alpha) end
function ELU:extra_repr() return "alpha=" .. U.py(self.alpha) .. (self.inplace and ", inplace=True" or "") end
local _ = U
return ELU
