-- MultiStepLR(opt, {milestones=, gamma=0.1}): lr *= gamma^k at a milestone listed k times.
local Optimizer = require "optim.Optimizer"
local LRScheduler = require "optim.lr_scheduler.LRScheduler"

local MultiStepLR = Optimizer.class("MultiStepLR", LRScheduler)

function MultiStepLR:__init(optimizer, opts)
  opts = opts or {}
  if type(opts.milestones) ~= "table" then error("MultiStepLR: milestones must be a list of steps", 2) end
  self.milestones = {} -- step -> count (PyTorch's Counter)
  for _, m in ipairs(opts.milestones) do self.milestones[m] = (self.milestones[m] or 0) + 1 end
  self.gamma = opts.gamma or 0.1
  LRScheduler.__init(self, optimizer, opts.last_epoch)
end

function MultiStepLR:get_lr()
  local lrs = self:_group_lrs()
  local k = self.milestones[self.last_epoch]
  if k == nil then return lrs end
  for i = 1, #lrs do lrs[i] = lrs[i] * self.gamma ^ k end
  return lrs
end

return MultiStepLR
