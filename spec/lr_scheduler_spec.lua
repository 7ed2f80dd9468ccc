-- optim.lr_scheduler: lr (and OneCycleLR momentum / beta1) sequences against PyTorch 1.13
-- (spec/fixtures/gen_optim.py), state_dict round trips and errors.
local fx = dofile("spec/fixtures/optim.lua")
local S = optim.lr_scheduler

local function close(got, want, what)
  assert.are.equal(#want, #got, what)
  for i = 1, #want do
    if math.abs(got[i] - want[i]) > 1e-14 + 1e-12 * math.abs(want[i]) then
      error(string.format("%s: group %d: got %.17g, want %.17g", what, i, got[i], want[i]), 2)
    end
  end
end

local function make(c)
  local groups = {}
  for i, lr in ipairs(c.group_lrs) do
    local p = torch.zeros({ 2 })
    p.requires_grad = true
    groups[i] = { params = { p }, lr = lr }
  end
  local opt = optim[c.opt](groups, c.opt_options)
  return opt, S[c.sched](opt, c.options)
end

local function snap(opt)
  local r = { lr = {}, momentum = {}, beta1 = {} }
  for i, g in ipairs(opt.param_groups) do
    r.lr[i], r.momentum[i], r.beta1[i] = g.lr, g.momentum, g.betas and g.betas[1]
  end
  return r
end

describe("lr schedulers match PyTorch", function()
  for ci, c in ipairs(fx.schedulers) do
    it(string.format("%d: %s with %s", ci, c.sched, c.opt), function()
      local opt, sched = make(c)
      local function check(s)
        local got, want = snap(opt), c.seq[s + 1]
        close(got.lr, want.lr, "lr at step " .. s)
        if want.momentum then close(got.momentum, want.momentum, "momentum at step " .. s) end
        if want.beta1 then close(got.beta1, want.beta1, "beta1 at step " .. s) end
      end
      check(0)
      for s = 1, #c.seq - 1 do
        opt:step()
        if c.metrics then sched:step(c.metrics[s]) else sched:step() end
        check(s)
        close(sched:get_last_lr(), c.last[c.metrics and s or s + 1], "get_last_lr at step " .. s)
      end
    end)
  end
end)

describe("lr scheduler bookkeeping", function()
  local function opt_with(lrs, cls, extra)
    local groups = {}
    for i, lr in ipairs(lrs) do
      local p = torch.zeros({ 1 })
      p.requires_grad = true
      groups[i] = { params = { p }, lr = lr }
    end
    return optim[cls or "SGD"](groups, extra or { lr = 1 })
  end

  it("records initial_lr in the groups at construction", function()
    local opt = opt_with({ 0.1, 0.2 })
    S.StepLR(opt, { step_size = 2 })
    assert.are.equal(0.1, opt.param_groups[1].initial_lr)
    assert.are.equal(0.2, opt.param_groups[2].initial_lr)
  end)

  it("get_last_lr returns a fresh list, one per group", function()
    local opt = opt_with({ 0.1, 0.2 })
    local s = S.ExponentialLR(opt, { gamma = 0.5 })
    local l = s:get_last_lr()
    l[1] = 99
    assert.are.same({ 0.1, 0.2 }, s:get_last_lr())
  end)

  it("state_dict / load_state_dict resume the schedule", function()
    local o1 = opt_with({ 0.1 })
    local s1 = S.CosineAnnealingLR(o1, { T_max = 10, eta_min = 0.001 })
    for _ = 1, 4 do s1:step() end
    local sd, osd = s1:state_dict(), o1:state_dict()
    assert.is_nil(sd.optimizer)
    assert.are.equal(4, sd.last_epoch)
    local o2 = opt_with({ 0.5 })
    local s2 = S.CosineAnnealingLR(o2, { T_max = 3 })
    o2:load_state_dict(osd)
    s2:load_state_dict(sd)
    for _ = 1, 7 do s1:step(); s2:step() end
    assert.are.same(s1:get_last_lr(), s2:get_last_lr())
    local p1 = S.ReduceLROnPlateau(opt_with({ 0.1 }), { patience = 0 })
    p1:step(1.0)
    local p2 = S.ReduceLROnPlateau(opt_with({ 0.1 }), { patience = 0 })
    p2:load_state_dict(p1:state_dict())
    assert.are.equal(1.0, p2.best)
  end)

  it("ReduceLROnPlateau takes one-element tensors as metrics", function()
    local opt = opt_with({ 0.1 })
    local s = S.ReduceLROnPlateau(opt, { patience = 0 })
    s:step(torch.tensor(1.0))
    s:step(torch.tensor(2.0))
    assert.are.same({ 0.1 * 0.1 }, s:get_last_lr())
  end)

  it("OneCycleLR errors past total_steps", function()
    local opt = opt_with({ 0.1 }, "SGD", { lr = 0.1, momentum = 0.9 })
    local s = S.OneCycleLR(opt, { max_lr = 1, total_steps = 3 })
    s:step(); s:step(); s:step()
    assert.has_error(function() s:step() end)
  end)

  it("reports bad options", function()
    local function err(f, msg)
      local ok, e = pcall(f)
      assert.is_false(ok)
      assert.is_truthy(tostring(e):find(msg, 1, true), "message: " .. tostring(e))
    end
    local opt = opt_with({ 0.1 })
    err(function() S.StepLR(opt, {}) end, "StepLR: step_size must be a positive integer (got nil)")
    err(function() S.OneCycleLR(opt, { max_lr = 1 }) end, "OneCycleLR: you must define either total_steps OR (epochs AND steps_per_epoch)")
    err(function() S.OneCycleLR(opt, { max_lr = 1, total_steps = -3 }) end, "OneCycleLR: expected positive integer total_steps, but got -3")
    err(function() S.OneCycleLR(opt, { max_lr = 1, total_steps = 5, anneal_strategy = "exp" }) end,
      "OneCycleLR: anneal_strategy must be one of 'cos' or 'linear', instead got exp")
    err(function() S.OneCycleLR(opt_with({ 0.1 }, "Adagrad", {}), { max_lr = 1, total_steps = 5 }) end,
      "OneCycleLR: optimizer must support momentum with `cycle_momentum` option enabled")
    err(function() S.OneCycleLR(opt, { max_lr = { 1, 2 }, total_steps = 5 }) end, "OneCycleLR: expected 1 values for max_lr, got 2")
    err(function() S.LinearLR(opt, { start_factor = 0 }) end, "LinearLR: starting multiplicative factor expected to be greater than 0 and less or equal to 1 (got 0)")
    err(function() S.ReduceLROnPlateau(opt, { factor = 1 }) end, "ReduceLROnPlateau: factor should be < 1.0 (got 1)")
    err(function() S.ReduceLROnPlateau(opt, { mode = "up" }) end, "ReduceLROnPlateau: mode up is unknown!")
    err(function() S.ReduceLROnPlateau(opt, { threshold_mode = "x" }) end, "ReduceLROnPlateau: threshold mode x is unknown!")
    err(function() S.ReduceLROnPlateau(opt, { min_lr = { 1, 2 } }) end, "ReduceLROnPlateau: expected 1 min_lrs, got 2")
    err(function() S.ExponentialLR(opt, {}) end, "ExponentialLR: gamma is required")
  end)
end)
