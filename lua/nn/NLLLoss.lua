-- nn.NLLLoss: a module over F.nll_loss (PyTorch's arguments: positional, or one options table).
local Module = require "nn.Module"
local F = require "nn.functional"
local util = require "nn._loss_util"

local NLLLoss = Module:extend("NLLLoss")

local NAMES = { "weight", "size_average", "ignore_index", "reduce", "reduction" }

function NLLLoss:__init(...)
  local o = util.options("NLLLoss", NAMES, ...)
  self.reduction = util.reduction(o)
  util.buffer(self, "weight", o.weight)
  self.ignore_index = o.ignore_index == nil and -100 or o.ignore_index
end

function NLLLoss:forward(input, target)
  return F.nll_loss(input, target, { reduction = self.reduction, weight = self.weight, ignore_index = self.ignore_index })
end

function NLLLoss:extra_repr() return "" end

return NLLLoss
