-- nn.HuberLoss: a module over F.huber_loss (PyTorch's arguments: positional, or one options table).
local Module = require "nn.Module"
local F = require "nn.functional"
local util = require "nn._loss_util"

local HuberLoss = Module:extend("HuberLoss")

local NAMES = { "reduction", "delta" }

function HuberLoss:__init(...)
  local o = util.options("HuberLoss", NAMES, ...)
  self.reduction = util.reduction(o)
  self.delta = o.delta == nil and 1.0 or o.delta
end

function HuberLoss:forward(input, target)
  return F.huber_loss(input, target, { reduction = self.reduction, delta = self.delta })
end

function HuberLoss:extra_repr() return "" end

return HuberLoss
