-- StepLR(opt, {step_size=, gamma=0.1}): lr *= gamma every step_size steps (PyTorch 1.13).
local Optimizer = require "optim.Optimizer"
local LRScheduler = require "optim.lr_scheduler.LRScheduler"

local StepLR = Optimizer.class("StepLR", LRScheduler)

function StepLR:__init(optimizer, opts)
  opts = opts or {}
  if type(opts.step_size) ~= "number" or opts.step_size < 1 or opts.step_size % 1 ~= 0 then
    error("StepLR: step_size must be a positive integer (got " .. tostring(opts.step_size) .. ")", 2)
  end
  self.step_size = opts.step_size
  self.gamma = opts.gamma or 0.1
  LRScheduler.__init(self, optimizer, opts.last_epoch)
end

function StepLR:get_lr()
  local lrs = self:_group_lrs()
  if self.last_epoch == 0 or self.last_epoch % self.step_size ~= 0 then return lrs end
  for i = 1, #lrs do lrs[i] = lrs[i] * self.gamma end
  return lrs
end

return StepLR
