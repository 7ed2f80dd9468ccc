-- optim.SGD(params, {lr=, momentum=0, dampening=0, weight_decay=0, nesterov=false,
-- maximize=false}): PyTorch 1.13's SGD. State: momentum_buffer (only when momentum ~= 0; on
-- its first step the buffer is the gradient itself). One C call per group.
local torch = require "torch"
local Optimizer = require "optim.Optimizer"

local SGD = Optimizer.class("SGD", Optimizer)
local fmt = Optimizer.fmt

function SGD:__init(params, opts)
  opts = opts or {}
  local d = {
    lr = opts.lr == nil and Optimizer.required or opts.lr,
    momentum = opts.momentum or 0, dampening = opts.dampening or 0,
    weight_decay = opts.weight_decay or 0, nesterov = opts.nesterov or false,
    maximize = opts.maximize or false,
  }
  if d.lr ~= Optimizer.required and d.lr < 0 then error("SGD: invalid learning rate: " .. fmt(d.lr), 2) end
  if d.momentum < 0 then error("SGD: invalid momentum value: " .. fmt(d.momentum), 2) end
  if d.weight_decay < 0 then error("SGD: invalid weight_decay value: " .. fmt(d.weight_decay), 2) end
  if d.nesterov and (d.momentum <= 0 or d.dampening ~= 0) then
    error("SGD: Nesterov momentum requires a momentum and zero dampening", 2)
  end
  Optimizer.__init(self, params, d)
end

-- The gathering of parameters with gradients, their states and momentum buffers, and the
-- update are one C call (torch._optim.sgd): on small models the Lua loop was a third of a step.
local sgd = torch._optim.sgd
function SGD:_step_group(g)
  sgd(g.params, self.state, g)
end

return SGD
