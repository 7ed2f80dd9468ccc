-- optim.RMSprop(params, {lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
-- centered=false, maximize=false}): PyTorch 1.13's RMSprop. State: step, square_avg,
-- momentum_buffer (momentum > 0), grad_avg (centered). One C call per group.
local torch = require "torch"
local Optimizer = require "optim.Optimizer"

local RMSprop = Optimizer.class("RMSprop", Optimizer)
local fmt = Optimizer.fmt

function RMSprop:__init(params, opts)
  opts = opts or {}
  local d = {
    lr = opts.lr or 1e-2, alpha = opts.alpha or 0.99, eps = opts.eps or 1e-8,
    weight_decay = opts.weight_decay or 0, momentum = opts.momentum or 0,
    centered = opts.centered or false, maximize = opts.maximize or false,
  }
  if d.lr < 0 then error("RMSprop: invalid learning rate: " .. fmt(d.lr), 2) end
  if d.eps < 0 then error("RMSprop: invalid epsilon value: " .. fmt(d.eps), 2) end
  if d.momentum < 0 then error("RMSprop: invalid momentum value: " .. fmt(d.momentum), 2) end
  if d.weight_decay < 0 then error("RMSprop: invalid weight_decay value: " .. fmt(d.weight_decay), 2) end
  if d.alpha < 0 then error("RMSprop: invalid alpha value: " .. fmt(d.alpha), 2) end
  Optimizer.__init(self, params, d)
end

local function init_state(p) return { step = 0, square_avg = torch.zeros_like(p) } end

function RMSprop:_step_group(g)
  local params, grads, states, n = self:_gather(g, init_state)
  if n == 0 then return end
  local sq, ga, bufs = {}, g.centered and {} or nil, g.momentum > 0 and {} or nil
  for i = 1, n do
    local st = states[i]
    st.step = st.step + 1
    sq[i] = st.square_avg
    if bufs then
      if st.momentum_buffer == nil then st.momentum_buffer = torch.zeros_like(params[i]) end
      bufs[i] = st.momentum_buffer
    end
    if ga then
      if st.grad_avg == nil then st.grad_avg = torch.zeros_like(params[i]) end
      ga[i] = st.grad_avg
    end
  end
  torch._optim.rmsprop_step(params, grads, sq, ga, bufs, g)
end

return RMSprop
