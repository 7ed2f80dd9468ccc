-- LinearLR(opt, {start_factor=1/3, end_factor=1, total_iters=5}): the lr factor goes linearly
-- from start_factor to end_factor over total_iters steps (PyTorch 1.13's recursive form).
local Optimizer = require "optim.Optimizer"
local LRScheduler = require "optim.lr_scheduler.LRScheduler"

local LinearLR = Optimizer.class("LinearLR", LRScheduler)

function LinearLR:__init(optimizer, opts)
  opts = opts or {}
  local sf, ef = opts.start_factor or 1.0 / 3, opts.end_factor or 1.0
  if sf > 1 or sf <= 0 then
    error("LinearLR: starting multiplicative factor expected to be greater than 0 and less or equal to 1 (got " .. Optimizer.fmt(sf) .. ")", 2)
  end
  if ef > 1 or ef < 0 then
    error("LinearLR: ending multiplicative factor expected to be between 0 and 1 (got " .. Optimizer.fmt(ef) .. ")", 2)
  end
  self.start_factor, self.end_factor, self.total_iters = sf, ef, opts.total_iters or 5
  LRScheduler.__init(self, optimizer, opts.last_epoch)
end

function LinearLR:get_lr()
  local lrs, e = self:_group_lrs(), self.last_epoch
  local sf, ef, n = self.start_factor, self.end_factor, self.total_iters
  if e == 0 then
    for i = 1, #lrs do lrs[i] = lrs[i] * sf end
    return lrs
  end
  if e > n then return lrs end
  for i = 1, #lrs do
    lrs[i] = lrs[i] * (1.0 + (ef - sf) / (n * sf + (e - 1) * (ef - sf)))
  end
  return lrs
end

return LinearLR
