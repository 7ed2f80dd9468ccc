-- optim: optimizer trajectories against PyTorch 1.13 (spec/fixtures/gen_optim.py), step
-- closures, zero_grad, state_dict round trips, parameter groups and error messages.
local fx = dofile("spec/fixtures/optim.lua")

local function flat(t) return torch._flat_values(t) end

local function close(got, want, rtol, atol, what)
  assert.are.equal(#want, #got, what)
  for i = 1, #want do
    local d = math.abs(got[i] - want[i])
    if d > atol + rtol * math.abs(want[i]) then
      error(string.format("%s: element %d: got %.17g, want %.17g", what, i, got[i], want[i]), 2)
    end
  end
end

local function make_params(c)
  local ps = {}
  for k, vals in ipairs(c.init) do
    local p = torch.tensor(vals, { dtype = "float64" }):reshape(fx.shapes[k]):to(c.dtype)
    p.requires_grad = true
    ps[k] = p
  end
  return ps
end

local function describe_case(c)
  local parts = {}
  for k, v in pairs(c.options) do
    if type(v) == "table" then v = "{" .. table.concat(v, ",") .. "}" end
    parts[#parts + 1] = k .. "=" .. tostring(v)
  end
  table.sort(parts)
  return string.format("%s %s {%s}%s", c.opt, c.dtype, table.concat(parts, " "), c.groups and " (groups)" or "")
end

local function build(c, ps)
  local arg = ps
  local extra
  if c.frozen then
    extra = torch.tensor({ 1.5, -2.5 }, { dtype = c.dtype })
    extra.requires_grad = true
  end
  local all = { table.unpack(ps) }
  if extra then all[#all + 1] = extra end
  if c.groups then
    arg = {}
    for gi, g in ipairs(c.groups) do
      local grp = { params = {} }
      for k, v in pairs(g.opts) do grp[k] = v end
      for j, i in ipairs(g.params) do grp.params[j] = all[i] end
      arg[gi] = grp
    end
  end
  return optim[c.opt](arg, c.options), extra
end

local function set_grads(c, ps, s)
  for k, g in ipairs(c.grads[s]) do
    if g == false then ps[k].grad = nil
    else ps[k].grad = torch.tensor(g, { dtype = "float64" }):reshape(fx.shapes[k]):to(c.dtype) end
  end
end

describe("optim trajectories match PyTorch", function()
  for _, c in ipairs(fx.cases) do
    it(describe_case(c), function()
      local rtol, atol = 1e-10, 1e-12
      if c.dtype == "float32" then rtol, atol = 1e-6, 1e-6 end
      local ps = make_params(c)
      local opt, extra = build(c, ps)
      for s = 1, fx.steps do
        set_grads(c, ps, s)
        opt:step()
        for k, p in ipairs(ps) do
          close(flat(p), c.traj[s][k], rtol, atol, string.format("step %d param %d", s, k))
          assert.are.equal(c.dtype, p.dtype)
        end
      end
      if extra then
        assert.are.same({ 1.5, -2.5 }, flat(extra))
        assert.is_nil(opt.state[extra])
      end
    end)
  end
end)

describe("optim state and bookkeeping", function()
  local function fresh(dtype)
    local p = torch.tensor({ { 1.0, -2.0 }, { 0.5, 3.0 } }, { dtype = dtype or "float64" })
    p.requires_grad = true
    return p
  end

  it("skips parameters whose grad is nil (no state created)", function()
    local a, b = fresh(), fresh()
    local opt = optim.Adam({ a, b }, { lr = 0.1 })
    a.grad = torch.ones_like(a)
    opt:step()
    assert.is_table(opt.state[a])
    assert.are.equal(1, opt.state[a].step)
    assert.is_nil(opt.state[b])
    assert.are.same({ 1.0, -2.0, 0.5, 3.0 }, flat(b))
  end)

  it("SGD without momentum keeps an empty state; with momentum the first buffer is the grad", function()
    local a = fresh()
    local opt = optim.SGD({ a }, { lr = 0.1 })
    a.grad = torch.ones_like(a)
    opt:step()
    assert.are.same({}, opt.state[a])
    local b = fresh()
    local o2 = optim.SGD({ b }, { lr = 0.1, momentum = 0.9, dampening = 0.5 })
    b.grad = torch.tensor({ { 1.0, 2.0 }, { 3.0, 4.0 } }, { dtype = "float64" })
    o2:step()
    assert.are.same({ 1.0, 2.0, 3.0, 4.0 }, flat(o2.state[b].momentum_buffer))
  end)

  it("step updates in place, records no graph and bumps the version counter", function()
    local a = fresh()
    local y = a * 2 -- saves nothing of a, but a's version must change
    local opt = optim.SGD({ a }, { lr = 0.5 })
    a.grad = torch.ones_like(a)
    local before = a
    opt:step()
    assert.are.equal(before, a)
    assert.is_true(a.is_leaf)
    assert.is_nil(a.grad_fn)
    assert.is_true(a.requires_grad)
    assert.are.same({ 0.5, -2.5, 0.0, 2.5 }, flat(a))
    -- a saved for backward by mul(a, a): the in-place step invalidates that graph
    local z = (a * a):sum()
    a.grad = torch.ones_like(a)
    opt:step()
    assert.has_error(function() z:backward() end)
    assert.is_not_nil(y)
  end)

  it("step(closure) re-evaluates with grad mode on and returns the loss", function()
    local a = fresh()
    local opt = optim.SGD({ a }, { lr = 0.1 })
    local calls = 0
    local loss = torch.no_grad(function()
      return opt:step(function()
        calls = calls + 1
        opt:zero_grad()
        assert.is_true(torch.is_grad_enabled())
        local l = (a * a):sum()
        l:backward()
        return l
      end)
    end)
    assert.are.equal(1, calls)
    assert.are.equal(1 + 4 + 0.25 + 9, loss:item())
    close(flat(a), { 0.8, -1.6, 0.4, 2.4 }, 1e-15, 1e-15, "closure step")
    assert.is_nil(opt:step())
  end)

  it("zero_grad zeroes in place by default (PyTorch 1.13) and drops grads with set_to_none", function()
    local a = fresh()
    local opt = optim.SGD({ a }, { lr = 0.1 })
    a.grad = torch.ones_like(a)
    local g = a.grad
    opt:zero_grad()
    assert.are.equal(g, a.grad)
    assert.are.same({ 0.0, 0.0, 0.0, 0.0 }, flat(a.grad))
    opt:zero_grad({ set_to_none = true })
    assert.is_nil(a.grad)
    opt:zero_grad() -- no grad: nothing to do
    assert.is_nil(a.grad)
  end)

  it("param groups: defaults fill in, group options override, lr is editable", function()
    local a, b = fresh(), fresh()
    local opt = optim.SGD({ { params = { a } }, { params = b, lr = 0.5, momentum = 0.9 } }, { lr = 0.1 })
    assert.are.equal(2, #opt.param_groups)
    assert.are.equal(0.1, opt.param_groups[1].lr)
    assert.are.equal(0, opt.param_groups[1].momentum)
    assert.are.equal(0.5, opt.param_groups[2].lr)
    assert.are.equal(0.9, opt.param_groups[2].momentum)
    opt.param_groups[1].lr = 1.0
    a.grad = torch.ones_like(a)
    opt:step()
    assert.are.same({ 0.0, -3.0, -0.5, 2.0 }, flat(a))
    local c = fresh()
    opt:add_param_group({ params = { c }, lr = 0.25 })
    assert.are.equal(3, #opt.param_groups)
    assert.are.equal(false, opt.param_groups[3].nesterov)
    assert.has_error(function() opt:add_param_group({ params = { a } }) end,
      "SGD: some parameters appear in more than one parameter group")
  end)

  it("Adagrad creates its state at construction like PyTorch", function()
    local a = fresh()
    local opt = optim.Adagrad({ a }, { initial_accumulator_value = 0.25 })
    assert.are.equal(0, opt.state[a].step)
    assert.are.same({ 0.25, 0.25, 0.25, 0.25 }, flat(opt.state[a].sum))
  end)

  it("float32 parameters keep float32 state", function()
    local a = fresh("float32")
    local opt = optim.Adam({ a }, { amsgrad = true })
    a.grad = torch.ones_like(a)
    opt:step()
    assert.are.equal("float32", opt.state[a].exp_avg.dtype)
    assert.are.equal("float32", opt.state[a].max_exp_avg_sq.dtype)
  end)

  it("non-contiguous parameters and grads are updated through their views", function()
    local base = torch.tensor({ { 1.0, 2.0, 3.0 }, { 4.0, 5.0, 6.0 } }, { dtype = "float64" })
    local pt = base:t() -- [3, 2], strides (1, 3)
    pt.requires_grad = true
    local opt = optim.SGD({ pt }, { lr = 0.5, momentum = 0.9 })
    -- the grad: [[1, 2], [3, 4], [5, 6]] stored transposed (non-contiguous too)
    pt.grad = torch.tensor({ { 1.0, 3.0, 5.0 }, { 2.0, 4.0, 6.0 } }, { dtype = "float64" }):t()
    assert.is_false(pt.grad:is_contiguous())
    opt:step()
    -- p - 0.5 * g with p = [[1, 4], [2, 5], [3, 6]], g = [[1, 2], [3, 4], [5, 6]]
    assert.are.same({ 0.5, 3.0, 0.5, 3.0, 0.5, 3.0 }, flat(pt))
    assert.are.same({ 0.5, 0.5, 0.5, 3.0, 3.0, 3.0 }, flat(base)) -- written through the view
    assert.is_false(pt:is_contiguous())
  end)

  it("empty parameters are fine", function()
    local e = torch.zeros({ 0 }, { dtype = "float64" })
    e.requires_grad = true
    local opt = optim.Adam({ e })
    e.grad = torch.zeros({ 0 }, { dtype = "float64" })
    opt:step()
    assert.are.equal(1, opt.state[e].step)
  end)
end)

describe("optim state_dict", function()
  local function run(opt, ps, grads, from, to)
    for s = from, to do
      for k, p in ipairs(ps) do p.grad = grads[s][k] end
      opt:step()
    end
  end

  local function setup(name, opts, dtype)
    torch.manual_seed(7)
    local ps = { torch.randn({ 3, 4 }, { dtype = dtype }), torch.randn({ 5 }, { dtype = dtype }) }
    for _, p in ipairs(ps) do p.requires_grad = true end
    local grads = {}
    for s = 1, 20 do
      grads[s] = { torch.randn({ 3, 4 }, { dtype = dtype }), s % 3 == 0 and nil or torch.randn({ 5 }, { dtype = dtype }) }
    end
    return ps, grads
  end

  local configs = {
    { "SGD", { lr = 0.1, momentum = 0.9, nesterov = true } },
    { "Adam", { lr = 0.01, amsgrad = true } },
    { "AdamW", { lr = 0.01 } },
    { "RMSprop", { lr = 0.01, momentum = 0.5, centered = true } },
    { "Adagrad", { lr = 0.1, lr_decay = 0.01 } },
    { "Adadelta", {} },
  }
  for _, cfg in ipairs(configs) do
    for _, dtype in ipairs({ "float32", "float64" }) do
      it(cfg[1] .. " " .. dtype .. ": resuming from a state_dict continues bit-identically", function()
        local ps, grads = setup(cfg[1], cfg[2], dtype)
        local opt = optim[cfg[1]](ps, cfg[2])
        run(opt, ps, grads, 1, 10)
        -- snapshot: the params and a fresh optimizer loaded from the state dict (load copies)
        local ps2 = {}
        for k, p in ipairs(ps) do
          ps2[k] = p:detach():clone()
          ps2[k].requires_grad = true
        end
        local opt2 = optim[cfg[1]](ps2, { lr = 12345 })
        opt2:load_state_dict(opt:state_dict())
        assert.are.equal(cfg[2].lr or opt.defaults.lr, opt2.param_groups[1].lr)
        run(opt, ps, grads, 11, 20)
        run(opt2, ps2, grads, 11, 20)
        for k = 1, #ps do assert.are.same(flat(ps[k]), flat(ps2[k])) end
      end)
    end
  end

  it("has PyTorch's layout: states and group params indexed across groups from 1", function()
    local a, b, c = torch.zeros({ 2 }), torch.zeros({ 3 }), torch.zeros({ 1 })
    for _, p in ipairs({ a, b, c }) do p.requires_grad = true end
    local opt = optim.Adam({ { params = { a, b } }, { params = { c }, lr = 0.5 } })
    a.grad, c.grad = torch.ones({ 2 }), torch.ones({ 1 })
    opt:step()
    local sd = opt:state_dict()
    assert.are.same({ 1, 2 }, sd.param_groups[1].params)
    assert.are.same({ 3 }, sd.param_groups[2].params)
    assert.are.same({ 0.9, 0.999 }, sd.param_groups[1].betas)
    assert.are.equal(0.5, sd.param_groups[2].lr)
    assert.are.equal(1, sd.state[1].step)
    assert.is_nil(sd.state[2])
    assert.are.equal(1, sd.state[3].step)
    assert.are.same({ 0.1, 0.1 }, (function() local r = {}
      for i, v in ipairs(flat(sd.state[1].exp_avg)) do r[i] = tonumber(string.format("%.6g", v)) end
      return r end)())
  end)

  it("rejects a state dict whose groups do not match", function()
    local a, b = torch.zeros({ 2 }), torch.zeros({ 2 })
    a.requires_grad, b.requires_grad = true, true
    local sd = optim.SGD({ a, b }, { lr = 0.1 }):state_dict()
    local o1 = optim.SGD({ { params = { a } }, { params = { b } } }, { lr = 0.1 })
    assert.has_error(function() o1:load_state_dict(sd) end,
      "SGD: loaded state dict has a different number of parameter groups (1, expected 2)")
    local o2 = optim.SGD({ a }, { lr = 0.1 })
    assert.has_error(function() o2:load_state_dict(sd) end,
      "SGD: loaded state dict contains a parameter group that doesn't match the size of optimizer's group (group 1: 2 parameters, expected 1)")
  end)
end)

describe("optim errors", function()
  local p = torch.zeros({ 2 })
  p.requires_grad = true
  local function err(f, msg)
    local ok, e = pcall(f)
    assert.is_false(ok)
    assert.is_truthy(tostring(e):find(msg, 1, true), "message: " .. tostring(e))
  end

  it("validates hyperparameters like PyTorch", function()
    err(function() optim.SGD({ p }, { lr = -1 }) end, "SGD: invalid learning rate: -1")
    err(function() optim.SGD({ p }, {}) end, "SGD: parameter group didn't specify a value of required optimization parameter lr")
    err(function() optim.SGD({ p }, { lr = 0.1, momentum = -0.5 }) end, "SGD: invalid momentum value: -0.5")
    err(function() optim.SGD({ p }, { lr = 0.1, weight_decay = -1 }) end, "SGD: invalid weight_decay value: -1")
    err(function() optim.SGD({ p }, { lr = 0.1, nesterov = true }) end, "SGD: Nesterov momentum requires a momentum and zero dampening")
    err(function() optim.Adam({ p }, { betas = { 1.5, 0.9 } }) end, "Adam: invalid beta parameter at index 1: 1.5")
    err(function() optim.Adam({ p }, { betas = { 0.9, 1.0 } }) end, "Adam: invalid beta parameter at index 2: 1")
    err(function() optim.AdamW({ p }, { eps = -1e-8 }) end, "AdamW: invalid epsilon value: -1e-08")
    err(function() optim.Adam({ p }, { lr = -0.001 }) end, "Adam: invalid learning rate: -0.001")
    err(function() optim.RMSprop({ p }, { alpha = -0.1 }) end, "RMSprop: invalid alpha value: -0.1")
    err(function() optim.RMSprop({ p }, { momentum = -1 }) end, "RMSprop: invalid momentum value: -1")
    err(function() optim.Adagrad({ p }, { lr_decay = -1 }) end, "Adagrad: invalid lr_decay value: -1")
    err(function() optim.Adagrad({ p }, { initial_accumulator_value = -1 }) end, "Adagrad: invalid initial_accumulator_value value: -1")
    err(function() optim.Adadelta({ p }, { rho = 1.5 }) end, "Adadelta: invalid rho value: 1.5")
  end)

  it("checks the params argument", function()
    err(function() optim.SGD(p, { lr = 0.1 }) end, "SGD: params argument given to the optimizer should be a list of tensors or groups, but got a tensor")
    err(function() optim.SGD({}, { lr = 0.1 }) end, "SGD: optimizer got an empty parameter list")
    err(function() optim.SGD({ p, 3 }, { lr = 0.1 }) end, "SGD: optimizer can only optimize tensors, but parameter 2 is a number")
    local q = p * 2
    err(function() optim.SGD({ q }, { lr = 0.1 }) end, "SGD: can't optimize a non-leaf tensor")
  end)

  it("reports grads that do not match their parameter", function()
    local a = torch.zeros({ 2, 3 })
    a.requires_grad = true
    local opt = optim.Adam({ a })
    local ok, e = pcall(function() torch._optim.adam_step({ a }, { torch.zeros({ 3, 2 }) },
      { torch.zeros({ 2, 3 }) }, { torch.zeros({ 2, 3 }) }, nil, { 1 }, { lr = 0.1 }) end)
    assert.is_false(ok)
    assert.is_truthy(e:find("adam_step: grad 1 has shape [3, 2] but the parameter has shape [2, 3]", 1, true), e)
    ok, e = pcall(function() torch._optim.sgd_step({ a }, { torch.zeros({ 2, 3 }, { dtype = "float64" }) }, nil, nil, { lr = 0.1 }) end)
    assert.is_false(ok)
    assert.is_truthy(e:find("sgd_step: grad 1 has dtype float64 but the parameter has dtype float32", 1, true), e)
    local i = torch.zeros({ 2 }, { dtype = "int64" })
    ok, e = pcall(function() torch._optim.sgd_step({ i }, { i }, nil, nil, { lr = 0.1 }) end)
    assert.is_false(ok)
    assert.is_truthy(e:find("sgd_step: parameter 1 has dtype int64 (expected float32 or float64)", 1, true), e)
    assert.is_not_nil(opt)
  end)
end)
