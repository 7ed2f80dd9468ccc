-- optim.Adadelta(params, {lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=false}):
-- PyTorch 1.13's Adadelta. State: step, square_avg, acc_delta. One C call per group.
local torch = require "torch"
local Optimizer = require "optim.Optimizer"

local Adadelta = Optimizer.class("Adadelta", Optimizer)
local fmt = Optimizer.fmt

function Adadelta:__init(params, opts)
  opts = opts or {}
  local d = {
    lr = opts.lr or 1.0, rho = opts.rho or 0.9, eps = opts.eps or 1e-6,
    weight_decay = opts.weight_decay or 0, maximize = opts.maximize or false,
  }
  if d.lr < 0 then error("Adadelta: invalid learning rate: " .. fmt(d.lr), 2) end
  if d.rho < 0 or d.rho > 1 then error("Adadelta: invalid rho value: " .. fmt(d.rho), 2) end
  if d.eps < 0 then error("Adadelta: invalid epsilon value: " .. fmt(d.eps), 2) end
  if d.weight_decay < 0 then error("Adadelta: invalid weight_decay value: " .. fmt(d.weight_decay), 2) end
  Optimizer.__init(self, params, d)
end

local function init_state(p)
  return { step = 0, square_avg = torch.zeros_like(p), acc_delta = torch.zeros_like(p) }
end

function Adadelta:_step_group(g)
  local params, grads, states, n = self:_gather(g, init_state)
  if n == 0 then return end
  local sq, acc = {}, {}
  for i = 1, n do
    local st = states[i]
    st.step = st.step + 1
    sq[i], acc[i] = st.square_avg, st.acc_delta
  end
  torch._optim.adadelta_step(params, grads, sq, acc, g)
end

return Adadelta
