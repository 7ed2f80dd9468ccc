-- nn.Dropout(p=0.5, inplace=false): active in training mode only.
local nn = require "nn"
local U = require "nn._util"
local Dropout = nn.Module:extend("Dropout")
function Dropout:__init(...)
  local a = U.args(self.__name, { "p", "inplace" }, { p = 0.5, inplace = false }, ...)
  if type(a.p) ~= "number" or a.p < 0 or a.p > 1 then
    error(string.format("%s: dropout probability has to be between 0 and 1, but got %s", self.__name, tostring(a.p)), 2)
  end
  self.p, self.inplace = a.p, a.inplace
end
function Dropout:forward(x) return U.F().dropout(x, self.p, self.training) end
function Dropout:extra_repr() return string.format("p=%s, inplace=%s", U.py(self.p), U.py(self.inplace)) end
return Dropout
