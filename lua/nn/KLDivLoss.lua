-- nn.KLDivLoss: a module over F.kl_div (PyTorch's arguments: positional, or one options table).
local Module = require "nn.Module"
local F = require "nn.functional"
local util = require "nn._loss_util"

local KLDivLoss = Module:extend("KLDivLoss")

local NAMES = { "size_average", "reduce", "reduction", "log_target" }

function KLDivLoss:__init(...)
  local o = util.options("KLDivLoss", NAMES, ...)
  self.reduction = util.reduction(o)
  self.log_target = o.log_target or false
end

function KLDivLoss:forward(input, target)
  return F.kl_div(input, target, { reduction = self.reduction, log_target = self.log_target })
end

function KLDivLoss:extra_repr() return "" end

return KLDivLoss
