-- nn.CrossEntropyLoss: a module over F.cross_entropy (PyTorch's arguments: positional, or one options table).
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

function CrossEntropyLoss:forward(input, target)
  return F.cross_entropy(input, target, { reduction = self.reduction, weight = self.weight, ignore_index = self.ignore_index, label_smoothing = self.label_smoothing })
end

function CrossEntropyLoss:extra_repr() return "" end

return CrossEntropyLoss
