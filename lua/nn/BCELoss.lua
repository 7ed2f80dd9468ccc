-- nn.BCELoss: a module over F.binary_cross_entropy (PyTorch's arguments: positional, or one options table).
local Module = require "nn.Module"
local F = require "nn.functional"
local util = require "nn._loss_util"

local BCELoss = Module:extend("BCELoss")

local NAMES = { "weight", "size_average", "reduce", "reduction" }

function BCELoss:__init(...)
  local o = util.options("BCELoss", NAMES, ...)
  self.reduction = util.reduction(o)
  util.buffer(self, "weight", o.weight)
end

function BCELoss:forward(input, target)
  return F.binary_cross_entropy(input, target, { reduction = self.reduction, weight = self.weight })
end

function BCELoss:extra_repr() return "" end

return BCELoss
