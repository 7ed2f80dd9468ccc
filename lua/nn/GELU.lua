-- nn.GELU(approximate="none" | "tanh")
local nn = require "nn"
local U = require "nn._util"
local GELU = nn.Module:extend("GELU")
function GELU:__init(...)
  local a = U.args("GELU", { "approximate" }, { approximate = "none" }, ...)
  for k, v in pairs(a) do self[k] = v end
end
function GELU:forward(x) return U.F().gelu(x, { approximate = self.approximate }) end
function GELU:extra_repr() return "approximate='" .. self.approximate .. "'" end
local _ = U
return GELU
