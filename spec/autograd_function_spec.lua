-- torch.autograd.Function, anomaly mode, in-place ops with autograd, max()/min() ties.
local Function = torch.autograd.Function

local function D(t) return torch.tensor(t, { dtype = "float64" }) end
local function close(a, b) assert.is_true(torch.allclose(a, b, { rtol = 1e-10, atol = 1e-12 })) end

local MyExp = Function{ name = "MyExp",
  forward = function(ctx, x) local y = x:exp(); ctx:save_for_backward(y); return y end,
  backward = function(ctx, g) return g * ctx.saved_tensors[1] end }

describe("autograd.Function", function()
  it("custom exp with save_for_backward", function()
    local x = D({ 0.5, -1, 2 }):requires_grad_()
    local y = MyExp(x)
    assert.equal("MyExpBackward", y.grad_fn:name())
    assert.is_false(y.is_leaf)
    y:sum():backward()
    close(x.grad, x:detach():exp())
    assert.is_true(rawequal(y.grad_fn.next_functions[1][1] ~= nil, true))
    assert.equal("AccumulateGrad", y.grad_fn.next_functions[1][1]:name())
  end)

  it("apply and __call, used twice in one graph", function()
    local x = D({ 1, 2 }):requires_grad_()
    local z = (MyExp:apply(x) * MyExp(x * 2)):sum() -- exp(3x)
    z:backward()
    close(x.grad, (x:detach() * 3):exp() * 3)
  end)

  it("runs forward with grad mode off and sets needs_input_grad and ctx fields", function()
    local seen
    local F = Function{
      forward = function(ctx, x, k, y)
        seen = { torch.is_grad_enabled(), ctx.needs_input_grad[1], ctx.needs_input_grad[2], ctx.needs_input_grad[3] }
        ctx.k = k
        return x * k + y
      end,
      backward = function(ctx, g) return g * ctx.k, nil, nil end }
    local x, y = D({ 1, 2 }):requires_grad_(), D({ 3, 4 })
    local out = F(x, 5, y)
    assert.same({ false, true, false, false }, seen)
    assert.equal("FunctionBackward", out.grad_fn:name())
    out:sum():backward()
    close(x.grad, D({ 5, 5 }))
    assert.is_nil(y.grad)
  end)

  it("backward returning nil gives no gradient", function()
    local F = Function{ forward = function(ctx, a, b) return a + b end, backward = function(ctx, g) return nil, g end }
    local a, b = D({ 1 }):requires_grad_(), D({ 2 }):requires_grad_()
    F(a, b):sum():backward()
    assert.is_nil(a.grad)
    close(b.grad, D({ 1 }))
  end)

  it("no recording without inputs that require grad", function()
    local out = MyExp(D({ 1 }))
    assert.is_nil(out.grad_fn)
    assert.is_false(out.requires_grad)
    local x = D({ 1 }):requires_grad_()
    assert.is_nil(torch.no_grad(function() return MyExp(x) end).grad_fn)
  end)

  it("errors on a wrong number of gradients, naming the function", function()
    local F = Function{ name = "Pair", forward = function(ctx, a, b) return a * b end, backward = function(ctx, g) return g end }
    local a = D({ 1 }):requires_grad_()
    assert.has_error(function() F(a, a):sum():backward() end,
      "PairBackward: backward returned 1 gradients, expected 2 (one per forward input)")
  end)

  it("errors on a gradient of the wrong shape or type", function()
    local F = Function{ name = "Bad", forward = function(ctx, a) return a * 2 end,
      backward = function(ctx, g) return torch.ones(3, { dtype = "float64" }) end }
    local a = D({ 1, 2 }):requires_grad_()
    assert.has_error(function() F(a):sum():backward() end,
      "BadBackward: backward returned a gradient of shape [3] for input 1, expected shape [2]")
    local G = Function{ name = "Str", forward = function(ctx, a) return a * 2 end, backward = function() return "x" end }
    assert.has_error(function() G(a):sum():backward() end,
      "StrBackward: backward returned a string for input 1 (expected a tensor or nil)")
  end)

  it("errors from the user's backward propagate", function()
    local F = Function{ forward = function(ctx, a) return a * 1 end, backward = function() error("boom") end }
    local a = D({ 1 }):requires_grad_()
    local ok, msg = pcall(function() F(a):sum():backward() end)
    assert.is_false(ok)
    assert.matches("boom", msg)
  end)

  it("checks saved tensors against in-place changes and frees them after backward", function()
    local Sq = Function{ name = "Sq", forward = function(ctx, x) ctx:save_for_backward(x); return x * x end,
      backward = function(ctx, g) return g * 2 * ctx.saved_tensors[1] end }
    local x = D({ 3 }):requires_grad_()
    local h = x * 1
    local y = Sq(h)
    h:add_(1)
    local ok, msg = pcall(function() y:sum():backward() end)
    assert.is_false(ok)
    assert.matches("SqBackward: a tensor saved by save_for_backward (argument 1) was modified by an in-place operation (version 1, expected 0)", msg, 1, true)
    local y2 = Sq(x)
    y2:sum():backward()
    assert.has_error(function() y2:sum():backward() end)
    local y3 = Sq(x)
    y3:sum():backward({ retain_graph = true })
    y3:sum():backward()
    close(x.grad, D({ 6 + 6 + 6 }))
  end)

  it("works with create_graph (second derivatives)", function()
    local Cube = Function{ forward = function(ctx, x) ctx:save_for_backward(x); return x ^ 3 end,
      backward = function(ctx, g) local x = ctx.saved_tensors[1]; return g * 3 * x ^ 2 end }
    local x = D({ 2, -1 }):requires_grad_()
    local g1 = torch.autograd.grad({ Cube(x):sum() }, { x }, { create_graph = true })[1]
    close(g1, D({ 12, 3 }))
    local g2 = torch.autograd.grad({ g1:sum() }, { x })[1]
    close(g2, D({ 12, -6 })) -- 6x
    -- a saved output is re-attached under create_graph: d2/dx2 exp(x) = exp(x)
    local z = D({ 0.5 }):requires_grad_()
    local e1 = torch.autograd.grad({ MyExp(z):sum() }, { z }, { create_graph = true })[1]
    local e2 = torch.autograd.grad({ e1:sum() }, { z })[1]
    close(e2, z:detach():exp())
  end)

  it("rejects bad definitions", function()
    assert.has_error(function() Function{ forward = function() end } end,
      "autograd.Function: field 'backward' must be a function (got nil)")
  end)

  it("does not leak (memory flat in a loop)", function()
    local x = torch.rand(64, { dtype = "float64" }):requires_grad_()
    local function step()
      local y = MyExp(x * 2)
      y:sum():backward()
      local _ = MyExp(x) -- a graph dropped without backward
    end
    for _ = 1, 5 do step() end
    collectgarbage(); collectgarbage()
    local base = torch.memory_allocated_cpu()
    for _ = 1, 200 do step() end
    x.grad = nil
    collectgarbage(); collectgarbage()
    assert.is_true(torch.memory_allocated_cpu() <= base)
  end)
end)

describe("anomaly mode", function()
  after_each(function() torch.autograd.set_detect_anomaly(false) end)

  it("names the node, the forward op and its line", function()
    assert.is_false(torch.autograd.is_anomaly_enabled())
    torch.autograd.set_detect_anomaly(true)
    assert.is_true(torch.autograd.is_anomaly_enabled())
    local x = torch.tensor({ 0.0, 4.0 }):requires_grad_()
    local y = x:sqrt() -- the forward line
    local line = debug.getinfo(1, "l").currentline - 1
    local ok, msg = pcall(function() y:sum():backward() end)
    assert.is_false(ok)
    assert.matches("function 'SqrtBackward' returned inf values", msg, 1, true)
    assert.matches("forward op (sqrt)", msg, 1, true)
    assert.matches("autograd_function_spec.lua:" .. line, msg, 1, true)
  end)

  it("reports nan and is off by default", function()
    local x = torch.tensor({ 0.0 }):requires_grad_()
    local y = x:sqrt() * 0 -- 0 * inf = nan in SqrtBackward's input... (no check when off)
    y:sum():backward()
    assert.is_true(x.grad:isnan():all():item())
    torch.autograd.detect_anomaly(function()
      local z = (x:sqrt() * 0):sum()
      local ok, msg = pcall(function() z:backward() end)
      assert.is_false(ok)
      assert.matches("function 'SqrtBackward' returned nan values", msg, 1, true)
    end)
    assert.is_false(torch.autograd.is_anomaly_enabled())
  end)

  it("covers Lua Functions", function()
    torch.autograd.set_detect_anomaly(true)
    local F = Function{ name = "Inf", forward = function(ctx, a) return a * 1 end,
      backward = function(ctx, g) return g / 0 end }
    local a = torch.tensor({ 1.0 }):requires_grad_()
    local ok, msg = pcall(function() F(a):sum():backward() end)
    assert.is_false(ok)
    assert.matches("function 'InfBackward' returned inf values", msg, 1, true)
  end)
end)

describe("in-place ops with autograd", function()
  it("in-place on a view recorded: refused with a clear error", function()
    local x = D({ 1, 2, 3 }):requires_grad_()
    local y = x * 2
    local v = y:narrow(1, 1, 2)
    assert.has_error(function() v:mul_(3) end,
      "mul_: in-place operation on a view with autograd recording is not supported (the gradient of the tensor it views would be wrong); clone() the view first or use an out-of-place op")
    local buf = torch.zeros(3, { dtype = "float64" })
    assert.has_error(function() buf:narrow(1, 1, 2):copy_(x:narrow(1, 1, 2)) end)
    assert.has_error(function() y:narrow(1, 1, 1):index_fill_(1, torch.tensor({ 1 }), 0) end)
  end)

  it("in-place index ops on a leaf that requires grad are refused", function()
    local x = D({ 1, 2 }):requires_grad_()
    assert.has_error(function() x:index_fill_(1, torch.tensor({ 1 }), 0) end,
      "a leaf tensor that requires grad is being used in an in-place operation (index_fill_)")
    assert.has_error(function() x[1] = 3 end,
      "a leaf tensor that requires grad is being used in an in-place operation (t[...] =)")
  end)

  it("t[...] = v on a non-leaf records CopySlices", function()
    local x = D({ { 1, 2 }, { 3, 4 } }):requires_grad_()
    local v = torch.tensor(10, { dtype = "float64" }):requires_grad_()
    local y = x * 3
    y[{ 1, 2 }] = v
    assert.equal("CopySlices", y.grad_fn:name())
    close(y:detach(), D({ { 3, 10 }, { 9, 12 } }))
    y:sum():backward()
    close(x.grad, D({ { 3, 0 }, { 3, 3 } }))
    close(v.grad, torch.tensor(1, { dtype = "float64" }))
  end)

  it("index assignment with a tensor key into a tensor that requires grad is refused", function()
    local y = D({ 1, 2 }):requires_grad_() * 1
    assert.has_error(function() y[torch.tensor({ true, false })] = 0 end)
  end)

  it("prod / cumprod gradients with zeros (PyTorch values)", function()
    local x = D({ 2, 0, 3 }):requires_grad_()
    x:prod():backward()
    close(x.grad, D({ 0, 6, 0 }))
    local z = D({ 0, 0, 3 }):requires_grad_()
    z:prod():backward()
    close(z.grad, D({ 0, 0, 0 }))
    local c = D({ 2, 0, 3 }):requires_grad_()
    c:cumprod(1):sum():backward()
    close(c.grad, D({ 1, 2 + 6, 0 })) -- d/dx0 (x0 + x0x1 + x0x1x2) = 1 + x1 + x1x2
  end)

  it("max() and min() split the gradient evenly among ties (PyTorch 1.13)", function()
    local x = D({ 1, 3, 3, 2 }):requires_grad_()
    local m = x:max()
    assert.equal("MaxBackward", m.grad_fn:name())
    m:backward()
    close(x.grad, D({ 0, 0.5, 0.5, 0 }))
    local y = D({ 1, 1, 2 }):requires_grad_()
    y:min():backward()
    close(y.grad, D({ 0.5, 0.5, 0 }))
  end)

  it("unfold and to(device) record nodes", function()
    local x = D({ 1, 2, 3, 4 }):requires_grad_()
    assert.equal("UnfoldBackward", x:unfold(1, 2, 1).grad_fn:name())
    x:unfold(1, 2, 1):sum():backward()
    close(x.grad, D({ 1, 2, 2, 1 }))
  end)
end)
