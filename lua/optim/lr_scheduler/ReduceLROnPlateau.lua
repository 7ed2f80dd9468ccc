-- ReduceLROnPlateau(opt, {mode="min", factor=0.1, patience=10, threshold=1e-4,
-- threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8}): sched:step(metric) multiplies the
-- lrs by factor after more than `patience` steps without improvement (PyTorch 1.13). min_lr
-- is a number or a list (one per group); a reduction smaller than eps is skipped.
local Optimizer = require "optim.Optimizer"
local LRScheduler = require "optim.lr_scheduler.LRScheduler"

local ReduceLROnPlateau = Optimizer.class("ReduceLROnPlateau", LRScheduler)

function ReduceLROnPlateau:__init(optimizer, opts)
  opts = opts or {}
  if type(optimizer) ~= "table" or type(optimizer.param_groups) ~= "table" then
    error("ReduceLROnPlateau: expects an optimizer as its first argument", 2)
  end
  local factor = opts.factor or 0.1
  if factor >= 1.0 then error("ReduceLROnPlateau: factor should be < 1.0 (got " .. Optimizer.fmt(factor) .. ")", 2) end
  self.factor = factor
  self.optimizer = optimizer
  local n = #optimizer.param_groups
  local min_lr = opts.min_lr or 0
  if type(min_lr) == "table" then
    if #min_lr ~= n then error(string.format("ReduceLROnPlateau: expected %d min_lrs, got %d", n, #min_lr), 2) end
    self.min_lrs = { table.unpack(min_lr) }
  else
    self.min_lrs = {}
    for i = 1, n do self.min_lrs[i] = min_lr end
  end
  self.patience = opts.patience or 10
  self.cooldown = opts.cooldown or 0
  self.cooldown_counter = 0
  self.mode = opts.mode or "min"
  self.threshold = opts.threshold or 1e-4
  self.threshold_mode = opts.threshold_mode or "rel"
  self.eps = opts.eps or 1e-8
  self.last_epoch = 0
  if self.mode ~= "min" and self.mode ~= "max" then
    error("ReduceLROnPlateau: mode " .. tostring(self.mode) .. " is unknown!", 2)
  end
  if self.threshold_mode ~= "rel" and self.threshold_mode ~= "abs" then
    error("ReduceLROnPlateau: threshold mode " .. tostring(self.threshold_mode) .. " is unknown!", 2)
  end
  self.mode_worse = self.mode == "min" and math.huge or -math.huge
  self:_reset()
  self._last_lr = self:_group_lrs()
end

function ReduceLROnPlateau:_reset()
  self.best = self.mode_worse
  self.cooldown_counter = 0
  self.num_bad_epochs = 0
end

function ReduceLROnPlateau:is_better(a, best)
  local t = self.threshold
  if self.mode == "min" then
    if self.threshold_mode == "rel" then return a < best * (1 - t) end
    return a < best - t
  end
  if self.threshold_mode == "rel" then return a > best * (t + 1) end
  return a > best + t
end

function ReduceLROnPlateau:step(metric)
  local current = metric
  if type(metric) ~= "number" then
    if Optimizer.is_tensor(metric) then current = metric:item()
    else error("ReduceLROnPlateau: step expects the metric (a number or a one-element tensor)", 2) end
  end
  self.last_epoch = self.last_epoch + 1
  if self:is_better(current, self.best) then
    self.best = current
    self.num_bad_epochs = 0
  else
    self.num_bad_epochs = self.num_bad_epochs + 1
  end
  if self.cooldown_counter > 0 then
    self.cooldown_counter = self.cooldown_counter - 1
    self.num_bad_epochs = 0
  end
  if self.num_bad_epochs > self.patience then
    for i, g in ipairs(self.optimizer.param_groups) do
      local old = g.lr
      local new = math.max(old * self.factor, self.min_lrs[i])
      if old - new > self.eps then g.lr = new end
    end
    self.cooldown_counter = self.cooldown
    self.num_bad_epochs = 0
  end
  self._last_lr = self:_group_lrs()
end

function ReduceLROnPlateau:get_lr() return self:_group_lrs() end

return ReduceLROnPlateau
