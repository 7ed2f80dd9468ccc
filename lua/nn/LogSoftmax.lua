-- nn.LogSoftmax(dim): dim is 1-based
local nn = require "nn"
local U = require "nn._util"
local LogSoftmax = nn.Module:extend("LogSoftmax")
function LogSoftmax:__init(...)
  local a = U.args("LogSoftmax", { "dim" }, {  }, ...)
  for k, v in pairs(a) do self[k] = v end
end
function LogSoftmax:forward(x) return x:log_softmax(self.dim) end
function LogSoftmax:extra_repr() return "dim=" .. U.py(self.dim) end
local _ = U
return LogSoftmax
