-- nn.Flatten(start_dim=2, end_dim=-1): dims are 1-based (PyTorch's start_dim=1).
local nn = require "nn"
local U = require "nn._util"
local Flatten = nn.Module:extend("Flatten")
function Flatten:__init(...)
  local a = U.args("Flatten", { "start_dim", "end_dim" }, { start_dim = 2, end_dim = -1 }, ...)
  self.start_dim, self.end_dim = a.start_dim, a.end_dim
end
function Flatten:forward(x) return x:flatten(self.start_dim, self.end_dim) end
function Flatten:extra_repr() return string.format("start_dim=%d, end_dim=%d", self.start_dim, self.end_dim) end
return Flatten
