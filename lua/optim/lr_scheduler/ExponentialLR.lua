-- ExponentialLR(opt, {gamma=}): lr *= gamma every step.
local Optimizer = require "optim.Optimizer"
local LRScheduler = require "optim.lr_scheduler.LRScheduler"

local ExponentialLR = Optimizer.class("ExponentialLR", LRScheduler)

function ExponentialLR:__init(optimizer, opts)
  opts = opts or {}
  if type(opts.gamma) ~= "number" then error("ExponentialLR: gamma is required", 2) end
  self.gamma = opts.gamma
  LRScheduler.__init(self, optimizer, opts.last_epoch)
end

function ExponentialLR:get_lr()
  local lrs = self:_group_lrs()
  if self.last_epoch == 0 then return lrs end
  for i = 1, #lrs do lrs[i] = lrs[i] * self.gamma end
  return lrs
end

return ExponentialLR
