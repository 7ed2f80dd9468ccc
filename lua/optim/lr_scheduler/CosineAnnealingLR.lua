-- CosineAnnealingLR(opt, {T_max=, eta_min=0}): PyTorch 1.13's recursive form (each lr is
-- derived from the current one, so the numbers match PyTorch's, restarts included).
local Optimizer = require "optim.Optimizer"
local LRScheduler = require "optim.lr_scheduler.LRScheduler"

local CosineAnnealingLR = Optimizer.class("CosineAnnealingLR", LRScheduler)

function CosineAnnealingLR:__init(optimizer, opts)
  opts = opts or {}
  if type(opts.T_max) ~= "number" or opts.T_max <= 0 then
    error("CosineAnnealingLR: T_max must be a positive number (got " .. tostring(opts.T_max) .. ")", 2)
  end
  self.T_max = opts.T_max
  self.eta_min = opts.eta_min or 0
  LRScheduler.__init(self, optimizer, opts.last_epoch)
end

function CosineAnnealingLR:get_lr()
  local lrs, e, T, eta = self:_group_lrs(), self.last_epoch, self.T_max, self.eta_min
  local pi, cos = math.pi, math.cos
  if e == 0 then return lrs end
  if self._step_count == 1 and e > 0 then
    for i, base in ipairs(self.base_lrs) do lrs[i] = eta + (base - eta) * (1 + cos(e * pi / T)) / 2 end
  elseif (e - 1 - T) % (2 * T) == 0 then
    for i, base in ipairs(self.base_lrs) do lrs[i] = lrs[i] + (base - eta) * (1 - cos(pi / T)) / 2 end
  else
    for i = 1, #lrs do
      lrs[i] = (1 + cos(pi * e / T)) / (1 + cos(pi * (e - 1) / T)) * (lrs[i] - eta) + eta
    end
  end
  return lrs
end

return CosineAnnealingLR
