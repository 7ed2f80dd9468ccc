-- The optimizers reuse their per-group lists from step to step (Optimizer._list and
-- torch._optim.collect): a step with fewer gradients than the last must not see stale entries.
-- SGD gathers in C (torch._optim.sgd): groups past its 64-entry stack arrays, states, errors.
describe("optimizer scratch lists", function()
  it("SGD with momentum: parameters gaining and losing gradients between steps", function()
    local p = { torch.tensor({ 1.0, 2.0 }, { dtype = torch.float64 }), torch.tensor({ 3.0 }, { dtype = torch.float64 }),
                torch.tensor({ -1.0, 0.5, 4.0 }, { dtype = torch.float64 }) }
    for _, t in ipairs(p) do t.requires_grad = true end
    local opt = optim.SGD(p, { lr = 0.1, momentum = 0.9 })
    -- reference: plain Lua numbers
    local ref, buf = {}, {}
    for i, t in ipairs(p) do ref[i], buf[i] = t:detach():tolist(), nil end
    local schedule = { { 1, 2, 3 }, { 2 }, { 1, 3 }, {}, { 3 }, { 1, 2, 3 } }
    for s, have in ipairs(schedule) do
      for _, t in ipairs(p) do t.grad = nil end
      for _, i in ipairs(have) do
        local g = torch.full({ p[i]:numel() }, 0.5 * s + i, { dtype = torch.float64 })
        p[i].grad = g
        local gl = g:tolist()
        if buf[i] == nil then buf[i] = gl else
          for j = 1, #gl do buf[i][j] = 0.9 * buf[i][j] + gl[j] end
        end
        for j = 1, #gl do ref[i][j] = ref[i][j] - 0.1 * buf[i][j] end
      end
      opt:step()
      for i, t in ipairs(p) do
        local got = t:detach():tolist()
        for j = 1, #got do assert.is_true(math.abs(got[j] - ref[i][j]) < 1e-12, ("step %d param %d"):format(s, i)) end
      end
    end
  end)

  it("Adam (amsgrad) and two groups keep their own lists", function()
    local a = torch.tensor({ 1.0, -1.0 }, { dtype = torch.float64 })
    local b = torch.tensor({ 2.0 }, { dtype = torch.float64 })
    a.requires_grad, b.requires_grad = true, true
    local a2, b2 = a:detach():clone():requires_grad_(), b:detach():clone():requires_grad_()
    local opt = optim.Adam({ { params = { a } }, { params = { b }, lr = 0.01 } }, { lr = 0.1, amsgrad = true })
    local oa = optim.Adam({ a2 }, { lr = 0.1, amsgrad = true })
    local ob = optim.Adam({ b2 }, { lr = 0.01, amsgrad = true })
    for s = 1, 5 do
      local ga = torch.tensor({ s * 0.3, -s * 0.1 }, { dtype = torch.float64 })
      local gb = torch.tensor({ 1.0 / s }, { dtype = torch.float64 })
      a.grad, a2.grad = ga:clone(), ga:clone()
      b.grad, b2.grad = (s % 2 == 1) and gb:clone() or nil, (s % 2 == 1) and gb:clone() or nil
      opt:step(); oa:step(); ob:step()
      assert.is_true(a:detach():equal(a2:detach()))
      assert.is_true(b:detach():equal(b2:detach()))
    end
  end)

  it("collect names a parameter that is not a tensor", function()
    assert.has_error(function() torch._optim.collect({ torch.zeros(1), "x" }, {}, {}) end,
      "optim: parameter 2 is a string (expected a tensor)")
  end)

  it("SGD over a group of 100 parameters (past the C stack arrays), some without grads", function()
    local p, ref, buf = {}, {}, {}
    for i = 1, 100 do
      p[i] = torch.full({ 2 }, i, { dtype = torch.float64 }):requires_grad_()
      ref[i] = i
    end
    local opt = optim.SGD(p, { lr = 0.1, momentum = 0.5, weight_decay = 0.01 })
    for s = 1, 3 do
      for i = 1, 100 do
        local has = (i + s) % 3 ~= 0
        p[i].grad = has and torch.full({ 2 }, s + i / 100, { dtype = torch.float64 }) or nil
        if has then
          local g = s + i / 100 + 0.01 * ref[i]
          buf[i] = buf[i] and 0.5 * buf[i] + g or g
          ref[i] = ref[i] - 0.1 * buf[i]
        end
      end
      opt:step()
      for i = 1, 100 do
        assert.is_true(math.abs(p[i][1]:item() - ref[i]) < 1e-12, ("step %d param %d"):format(s, i))
        assert.are.equal(buf[i] ~= nil, opt.state[p[i]] ~= nil and opt.state[p[i]].momentum_buffer ~= nil)
      end
    end
  end)

  it("SGD names a bad parameter or momentum buffer", function()
    local a = torch.zeros(2):requires_grad_()
    a.grad = torch.ones(2)
    assert.has_error(function() torch._optim.sgd({ a, 7 }, {}, { lr = 0.1 }) end,
      "optim: parameter 2 is a number (expected a tensor)")
    local opt = optim.SGD({ a }, { lr = 0.1, momentum = 0.9 })
    opt.state[a] = { momentum_buffer = "x" }
    assert.has_error(function() opt:step() end, "optim: the momentum buffer of parameter 1 is a string")
    opt.state[a] = { momentum_buffer = torch.zeros(3) }
    local ok, err = pcall(opt.step, opt)
    assert.is_false(ok)
    assert.truthy(err:find("sgd_step: state 1 has shape [3] but the parameter has shape [2]", 1, true), err)
  end)

  it("SGD's float32 update has the bits of the same formula in tensor ops (no FMA in any ISA clone)", function()
    -- 100003 elements: vector bodies, tails and the threads' chunks; weight decay, momentum, dampening
    torch.manual_seed(3)
    local n = 100003
    local p = torch.randn(n):requires_grad_()
    local ref = p:detach():clone()
    local opt = optim.SGD({ p }, { lr = 0.1, momentum = 0.9, dampening = 0.25, weight_decay = 0.01 })
    local buf
    for _ = 1, 3 do
      local g = torch.randn(n)
      p.grad = g:clone()
      opt:step()
      local d = g + ref * 0.01
      if not buf then buf = d:clone() else buf = buf * 0.9 + d * 0.75 end
      ref = ref + buf * -0.1
      assert.is_true(p:detach():eq(ref):all():item())
    end
  end)
end)
