-- optim.lr_scheduler.LRScheduler: base class of the epoch-based schedulers (PyTorch 1.13's
-- _LRScheduler). Construction records group.initial_lr (when absent) as the base lr and
-- performs the initial step (last_epoch 0); sched:step() advances last_epoch and writes
-- get_lr()'s values into the groups; get_last_lr() returns the lrs of the last step.
local Optimizer = require "optim.Optimizer"

local LRScheduler = Optimizer.class("LRScheduler")

function LRScheduler:__init(optimizer, last_epoch)
  if type(optimizer) ~= "table" or type(optimizer.param_groups) ~= "table" then
    error(self.__name .. ": expects an optimizer as its first argument", 3)
  end
  self.optimizer = optimizer
  last_epoch = last_epoch or -1
  for i, g in ipairs(optimizer.param_groups) do
    if last_epoch == -1 then
      if g.initial_lr == nil then g.initial_lr = g.lr end
    elseif g.initial_lr == nil then
      error(string.format("%s: param 'initial_lr' is not specified in param_groups[%d] when resuming an optimizer",
        self.__name, i), 3)
    end
  end
  self.base_lrs = {}
  for i, g in ipairs(optimizer.param_groups) do self.base_lrs[i] = g.initial_lr end
  self.last_epoch = last_epoch
  self._step_count = 0
  self:step()
end

function LRScheduler:get_lr() error(self.__name .. ": get_lr is not implemented", 2) end

function LRScheduler:step()
  self._step_count = self._step_count + 1
  self.last_epoch = self.last_epoch + 1
  local lrs = self:get_lr()
  local last = {}
  for i, g in ipairs(self.optimizer.param_groups) do
    g.lr = lrs[i]
    last[i] = g.lr
  end
  self._last_lr = last
end

function LRScheduler:get_last_lr() return { table.unpack(self._last_lr) } end

-- The current lrs of the groups (the recursive forms start from them).
function LRScheduler:_group_lrs()
  local r = {}
  for i, g in ipairs(self.optimizer.param_groups) do r[i] = g.lr end
  return r
end

-- state_dict(): every field but the optimizer (numbers, strings, booleans, lists).
local function copy(v)
  if type(v) ~= "table" then return v end
  local r = {}
  for k, x in pairs(v) do r[k] = copy(x) end
  return r
end

function LRScheduler:state_dict()
  local sd = {}
  for k, v in pairs(self) do
    if k ~= "optimizer" and type(v) ~= "function" then sd[k] = copy(v) end
  end
  return sd
end

function LRScheduler:load_state_dict(sd)
  if type(sd) ~= "table" then error(self.__name .. ": load_state_dict expects a table", 2) end
  for k, v in pairs(sd) do
    if k ~= "optimizer" then self[k] = copy(v) end
  end
end

return LRScheduler
