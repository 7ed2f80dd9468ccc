-- nn.Softplus(beta=1, threshold=20): log(1 + exp(beta x)) / beta
local nn = require "nn"
local U = require "nn._util"
local Softplus = nn.Module:extend("Softplus")
function Softplus:__init(...)
  local a = U.args("Softplus", { "beta", "threshold" }, { beta = 1, threshold = 20 }, ...)
  for k, v in pairs(a) do self[k] = v end
end
function Softplus:forward(x) return U.F().softplus(x, self.beta, self.threshold) end
function Softplus:extra_repr() return "beta=" .. U.py(self.beta) .. ", threshold=" .. U.py(self.threshold) end
local _ = U
return Softplus
