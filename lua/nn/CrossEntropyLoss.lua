-- nn.CrossEntropyLoss: a module over F.cross_entropy (PyTorch's arguments: positional, or one options table).
local torch = require "torch"
local Module = require "nn.Module"
local F = require "nn.functional"
local util = require "nn._loss_util"

local CrossEntropyLoss = Module:extend("CrossEntropyLoss")

local NAMES = { "weight", "size_average", "ignore_index", "reduce", "reduction", "label_smoothing" }

function CrossEntropyLoss:__init(...)
  local o = util.options("CrossEntropyLoss", NAMES, ...)
  self.reduction = util.reduction(o)
  util.buffer(self, "weight", o.weight)
  self.ignore_index = o.ignore_index == nil and -100 or o.ignore_index
  self.label_smoothing = o.label_smoothing == nil and 0.0 or o.label_smoothing
end

local is_tensor, cross_entropy_1b = torch.is_tensor, torch._nn.cross_entropy_1b
local REDUCTIONS = { none = true, mean = true, sum = true }

-- The common case goes straight to the C kernel (1-based labels handled there): no options
-- table, no argument parsing; anything unusual takes F.cross_entropy (and its messages).
function CrossEntropyLoss:forward(input, target)
  local red, w, ii, ls = self.reduction, self.weight, self.ignore_index, self.label_smoothing
  if is_tensor(input) and is_tensor(target) and REDUCTIONS[red] and math.type(ii) == "integer"
    and type(ls) == "number" and (w == nil or is_tensor(w)) then
    return cross_entropy_1b(input, target, w, ii, red, ls)
  end
  return F.cross_entropy(input, target, { reduction = red, weight = w, ignore_index = ii, label_smoothing = ls })
end

function CrossEntropyLoss:extra_repr() return "" end

return CrossEntropyLoss
