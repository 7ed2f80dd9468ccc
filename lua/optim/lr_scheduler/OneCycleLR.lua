-- OneCycleLR(opt, {max_lr=, total_steps= or epochs= + steps_per_epoch=, pct_start=0.3,
-- anneal_strategy="cos", div_factor=25, final_div_factor=1e4, three_phase=false,
-- cycle_momentum=true, base_momentum=0.85, max_momentum=0.95}): PyTorch 1.13's 1cycle
-- policy. With cycle_momentum the momentum (SGD, RMSprop) or beta1 (Adam, AdamW) of each group
-- is annealed inversely to the lr. max_lr, base_momentum and max_momentum take a number or a
-- list (one per group).
local Optimizer = require "optim.Optimizer"
local LRScheduler = require "optim.lr_scheduler.LRScheduler"

local OneCycleLR = Optimizer.class("OneCycleLR", LRScheduler)
local fmt = Optimizer.fmt

local function per_group(name, optimizer, v)
  local n = #optimizer.param_groups
  if type(v) == "table" then
    if #v ~= n then error(string.format("OneCycleLR: expected %d values for %s, got %d", n, name, #v), 4) end
    return { table.unpack(v) }
  end
  if type(v) ~= "number" then error("OneCycleLR: " .. name .. " must be a number or a list", 4) end
  local r = {}
  for i = 1, n do r[i] = v end
  return r
end

local function is_posint(v) return type(v) == "number" and v > 0 and v % 1 == 0 end

function OneCycleLR:__init(optimizer, opts)
  opts = opts or {}
  local total = opts.total_steps
  if total == nil and opts.epochs == nil and opts.steps_per_epoch == nil then
    error("OneCycleLR: you must define either total_steps OR (epochs AND steps_per_epoch)", 2)
  elseif total ~= nil then
    if not is_posint(total) then error("OneCycleLR: expected positive integer total_steps, but got " .. fmt(total), 2) end
  else
    if not is_posint(opts.epochs) then error("OneCycleLR: expected positive integer epochs, but got " .. fmt(opts.epochs), 2) end
    if not is_posint(opts.steps_per_epoch) then
      error("OneCycleLR: expected positive integer steps_per_epoch, but got " .. fmt(opts.steps_per_epoch), 2)
    end
    total = opts.epochs * opts.steps_per_epoch
  end
  self.total_steps = total
  local pct = opts.pct_start or 0.3
  if type(pct) ~= "number" or pct < 0 or pct > 1 then
    error("OneCycleLR: expected float between 0 and 1 pct_start, but got " .. fmt(pct), 2)
  end
  if opts.three_phase then
    self._schedule_phases = {
      { end_step = pct * total - 1, start_lr = "initial_lr", end_lr = "max_lr", start_momentum = "max_momentum", end_momentum = "base_momentum" },
      { end_step = 2 * pct * total - 2, start_lr = "max_lr", end_lr = "initial_lr", start_momentum = "base_momentum", end_momentum = "max_momentum" },
      { end_step = total - 1, start_lr = "initial_lr", end_lr = "min_lr", start_momentum = "max_momentum", end_momentum = "max_momentum" },
    }
  else
    self._schedule_phases = {
      { end_step = pct * total - 1, start_lr = "initial_lr", end_lr = "max_lr", start_momentum = "max_momentum", end_momentum = "base_momentum" },
      { end_step = total - 1, start_lr = "max_lr", end_lr = "min_lr", start_momentum = "base_momentum", end_momentum = "max_momentum" },
    }
  end
  local strat = opts.anneal_strategy or "cos"
  if strat ~= "cos" and strat ~= "linear" then
    error("OneCycleLR: anneal_strategy must be one of 'cos' or 'linear', instead got " .. tostring(strat), 2)
  end
  self.anneal_strategy = strat
  if opts.max_lr == nil then error("OneCycleLR: max_lr is required", 2) end
  local div, fdiv = opts.div_factor or 25.0, opts.final_div_factor or 1e4
  local max_lrs = per_group("max_lr", optimizer, opts.max_lr)
  local last_epoch = opts.last_epoch or -1
  if last_epoch == -1 then
    for i, g in ipairs(optimizer.param_groups) do
      g.initial_lr = max_lrs[i] / div
      g.max_lr = max_lrs[i]
      g.min_lr = g.initial_lr / fdiv
    end
  end
  self.cycle_momentum = opts.cycle_momentum ~= false
  if self.cycle_momentum then
    local d = optimizer.defaults or {}
    if d.momentum == nil and d.betas == nil then
      error("OneCycleLR: optimizer must support momentum with `cycle_momentum` option enabled", 2)
    end
    self.use_beta1 = d.betas ~= nil
    local maxm = per_group("max_momentum", optimizer, opts.max_momentum or 0.95)
    local basem = per_group("base_momentum", optimizer, opts.base_momentum or 0.85)
    if last_epoch == -1 then
      for i, g in ipairs(optimizer.param_groups) do
        if self.use_beta1 then g.betas = { maxm[i], g.betas[2] } else g.momentum = maxm[i] end
        g.max_momentum, g.base_momentum = maxm[i], basem[i]
      end
    end
  end
  LRScheduler.__init(self, optimizer, last_epoch)
end

local function anneal(strategy, start, stop, pct)
  if strategy == "cos" then return stop + (start - stop) / 2.0 * (math.cos(math.pi * pct) + 1) end
  return (stop - start) * pct + start
end

function OneCycleLR:get_lr()
  local step = self.last_epoch
  if step > self.total_steps then
    error(string.format("OneCycleLR: tried to step %d times. The specified number of total steps is %d",
      step + 1, self.total_steps), 3)
  end
  local lrs, phases = {}, self._schedule_phases
  for gi, g in ipairs(self.optimizer.param_groups) do
    local start_step, lr, mom = 0, nil, nil
    for i, ph in ipairs(phases) do
      local end_step = ph.end_step
      if step <= end_step or i == #phases then
        local pct = (step - start_step) / (end_step - start_step)
        lr = anneal(self.anneal_strategy, g[ph.start_lr], g[ph.end_lr], pct)
        if self.cycle_momentum then
          mom = anneal(self.anneal_strategy, g[ph.start_momentum], g[ph.end_momentum], pct)
        end
        break
      end
      start_step = ph.end_step
    end
    lrs[gi] = lr
    if self.cycle_momentum then
      if self.use_beta1 then g.betas = { mom, g.betas[2] } else g.momentum = mom end
    end
  end
  return lrs
end

return OneCycleLR
