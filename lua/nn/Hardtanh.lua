-- nn.Hardtanh(min_val=-1.0, max_val=1.0, inplace=false)
local nn = require "nn"
local U = require "nn._util"
local Hardtanh = nn.Module:extend("Hardtanh")
function Hardtanh:__init(...)
  local a = U.args("Hardtanh", { "min_val", "max_val", "inplace" }, { min_val = -1.0, max_val = 1.0, inplace = false }, ...)
  for k, v in pairs(a) do self[k] = v end
end
function Hardtanh:forward(x) return U.F().hardtanh(x, self.min_val, self.max_val) end
function Hardtanh:extra_repr() return "min_val=" .. U.py(self.min_val) .. ", max_val=" .. U.py(self.max_val) .. (self.inplace and ", inplace=True" or "") end
local _ = U
return Hardtanh
