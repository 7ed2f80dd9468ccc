-- nn.MSELoss: a module over F.mse_loss (PyTorch's arguments: positional, or one options table).
local Module = require "nn.Module"
local F = require "nn.functional"
local util = require "nn._loss_util"

local MSELoss = Module:extend("MSELoss")

local NAMES = { "size_average", "reduce", "reduction" }

function MSELoss:__init(...)
  local o = util.options("MSELoss", NAMES, ...)
  self.reduction = util.reduction(o)
end

function MSELoss:forward(input, target)
  return F.mse_loss(input, target, { reduction = self.reduction })
end

function MSELoss:extra_repr() return "" end

return MSELoss
