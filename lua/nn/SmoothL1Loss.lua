-- nn.SmoothL1Loss: a module over F.smooth_l1_loss (PyTorch's arguments: positional, or one options table).
local Module = require "nn.Module"
local F = require "nn.functional"
local util = require "nn._loss_util"

local SmoothL1Loss = Module:extend("SmoothL1Loss")

local NAMES = { "size_average", "reduce", "reduction", "beta" }

function SmoothL1Loss:__init(...)
  local o = util.options("SmoothL1Loss", NAMES, ...)
  self.reduction = util.reduction(o)
  self.beta = o.beta == nil and 1.0 or o.beta
end

function SmoothL1Loss:forward(input, target)
  return F.smooth_l1_loss(input, target, { reduction = self.reduction, beta = self.beta })
end

function SmoothL1Loss:extra_repr() return "" end

return SmoothL1Loss
