-- optim.Adagrad(params, {lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
-- eps=1e-10, maximize=false}): PyTorch 1.13's Adagrad. Like PyTorch, the state (step = 0,
-- sum = initial_accumulator_value) of every parameter is created at construction.
local torch = require "torch"
local Optimizer = require "optim.Optimizer"

local Adagrad = Optimizer.class("Adagrad", Optimizer)
local fmt = Optimizer.fmt

local function init_state(p, g)
  return { step = 0, sum = torch.full_like(p, g.initial_accumulator_value) }
end

function Adagrad:__init(params, opts)
  opts = opts or {}
  local d = {
    lr = opts.lr or 1e-2, lr_decay = opts.lr_decay or 0, weight_decay = opts.weight_decay or 0,
    initial_accumulator_value = opts.initial_accumulator_value or 0, eps = opts.eps or 1e-10,
    maximize = opts.maximize or false,
  }
  if d.lr < 0 then error("Adagrad: invalid learning rate: " .. fmt(d.lr), 2) end
  if d.lr_decay < 0 then error("Adagrad: invalid lr_decay value: " .. fmt(d.lr_decay), 2) end
  if d.weight_decay < 0 then error("Adagrad: invalid weight_decay value: " .. fmt(d.weight_decay), 2) end
  if d.initial_accumulator_value < 0 then
    error("Adagrad: invalid initial_accumulator_value value: " .. fmt(d.initial_accumulator_value), 2)
  end
  if d.eps < 0 then error("Adagrad: invalid epsilon value: " .. fmt(d.eps), 2) end
  Optimizer.__init(self, params, d)
  for _, g in ipairs(self.param_groups) do
    for _, p in ipairs(g.params) do self.state[p] = init_state(p, g) end
  end
end

function Adagrad:_step_group(g)
  local params, grads, states, n = self:_gather(g, init_state)
  if n == 0 then return end
  local sums, steps = {}, {}
  for i = 1, n do
    local st = states[i]
    st.step = st.step + 1
    sums[i], steps[i] = st.sum, st.step
  end
  torch._optim.adagrad_step(params, grads, sums, steps, g)
end

return Adagrad
