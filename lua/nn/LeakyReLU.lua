-- nn.LeakyReLU(negative_slope=0.01, inplace=false)
local nn = require "nn"
local U = require "nn._util"
local LeakyReLU = nn.Module:extend("LeakyReLU")
function LeakyReLU:__init(...)
  local a = U.args("LeakyReLU", { "negative_slope", "inplace" }, { negative_slope = 0.01, inplace = false }, ...)
  for k, v in pairs(a) do self[k] = v end
end
function LeakyReLU:forward(x) return U.F().leaky_relu(x, self.negative_slope) end
function LeakyReLU:extra_repr() return "negative_slope=" .. U.py(self.negative_slope) .. (self.inplace and ", inplace=True" or "") end
local _ = U
return LeakyReLU
