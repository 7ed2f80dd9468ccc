-- optim.AdamW(params, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8, weight_decay=1e-2,
-- amsgrad=false, maximize=false}): Adam with decoupled weight decay (param *= 1 - lr * wd
-- before the Adam update), PyTorch 1.13's AdamW.
local Optimizer = require "optim.Optimizer"
local Adam = require "optim.Adam"

local AdamW = Optimizer.class("AdamW", Adam)
AdamW._decoupled = true

function AdamW:__init(params, opts) Adam.__init(self, params, opts, 1e-2) end

return AdamW
