-- nn.BCEWithLogitsLoss: a module over F.binary_cross_entropy_with_logits (PyTorch's arguments: positional, or one options table).
local Module = require "nn.Module"
local F = require "nn.functional"
local util = require "nn._loss_util"

local BCEWithLogitsLoss = Module:extend("BCEWithLogitsLoss")

local NAMES = { "weight", "size_average", "reduce", "reduction", "pos_weight" }

function BCEWithLogitsLoss:__init(...)
  local o = util.options("BCEWithLogitsLoss", NAMES, ...)
  self.reduction = util.reduction(o)
  util.buffer(self, "weight", o.weight)
  util.buffer(self, "pos_weight", o.pos_weight)
end

function BCEWithLogitsLoss:forward(input, target)
  return F.binary_cross_entropy_with_logits(input, target, { reduction = self.reduction, weight = self.weight, pos_weight = self.pos_weight })
end

function BCEWithLogitsLoss:extra_repr() return "" end

return BCEWithLogitsLoss
