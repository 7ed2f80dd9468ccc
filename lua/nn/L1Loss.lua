-- nn.L1Loss: a module over F.l1_loss (PyTorch's arguments: positional, or one options table).
local Module = require "nn.Module"
local F = require "nn.functional"
local util = require "nn._loss_util"

local L1Loss = Module:extend("L1Loss")

local NAMES = { "size_average", "reduce", "reduction" }

function L1Loss:__init(...)
  local o = util.options("L1Loss", NAMES, ...)
  self.reduction = util.reduction(o)
end

function L1Loss:forward(input, target)
  return F.l1_loss(input, target, { reduction = self.reduction })
end

function L1Loss:extra_repr() return "" end

return L1Loss
