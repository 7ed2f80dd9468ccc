-- optim.Adam(params, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8, weight_decay=0, amsgrad=false,
-- maximize=false}): PyTorch 1.13's Adam (L2 weight decay added to the gradient). AdamW
-- (optim.AdamW) shares this code with decoupled weight decay. State per parameter: step
-- (a number), exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad). One C call per group.
local torch = require "torch"
local Optimizer = require "optim.Optimizer"

local Adam = Optimizer.class("Adam", Optimizer)
local fmt = Optimizer.fmt

function Adam:__init(params, opts, default_wd)
  opts = opts or {}
  local betas = opts.betas or { 0.9, 0.999 }
  local d = {
    lr = opts.lr or 1e-3, betas = { betas[1], betas[2] }, eps = opts.eps or 1e-8,
    weight_decay = opts.weight_decay or default_wd or 0, amsgrad = opts.amsgrad or false,
    maximize = opts.maximize or false,
  }
  local name = self.__name
  if d.lr < 0 then error(name .. ": invalid learning rate: " .. fmt(d.lr), 2) end
  if d.eps < 0 then error(name .. ": invalid epsilon value: " .. fmt(d.eps), 2) end
  for i = 1, 2 do
    local b = d.betas[i]
    if type(b) ~= "number" or b < 0 or b >= 1 then
      error(string.format("%s: invalid beta parameter at index %d: %s", name, i, fmt(b)), 2)
    end
  end
  if d.weight_decay < 0 then error(name .. ": invalid weight_decay value: " .. fmt(d.weight_decay), 2) end
  Optimizer.__init(self, params, d)
end

local function init_state(p, g)
  local st = { step = 0, exp_avg = torch.zeros_like(p), exp_avg_sq = torch.zeros_like(p) }
  if g.amsgrad then st.max_exp_avg_sq = torch.zeros_like(p) end
  return st
end

Adam._decoupled = false

function Adam:_step_group(g)
  local params, grads, states, n = self:_gather(g, init_state)
  if n == 0 then return end
  local L = Optimizer._list
  local m, v, steps = L(g, "exp_avgs", n), L(g, "exp_avg_sqs", n), L(g, "steps", n)
  local vmax = g.amsgrad and L(g, "max_exp_avg_sqs", n) or nil
  for i = 1, n do
    local st = states[i]
    st.step = st.step + 1
    m[i], v[i], steps[i] = st.exp_avg, st.exp_avg_sq, st.step
    if vmax then
      if st.max_exp_avg_sq == nil then st.max_exp_avg_sq = torch.zeros_like(params[i]) end
      vmax[i] = st.max_exp_avg_sq
    end
  end
  torch._optim.adam_step(params, grads, m, v, vmax, steps, {
    lr = g.lr, beta1 = g.betas[1], beta2 = g.betas[2], eps = g.eps, weight_decay = g.weight_decay,
    amsgrad = g.amsgrad, maximize = g.maximize, decoupled = self._decoupled,
  })
end

return Adam
