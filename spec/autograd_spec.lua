-- autograd: the engine, grad_fn graphs, hooks, grad modes, torch.autograd.grad, errors,
-- PyTorch fixtures (first and second order) and memory behaviour.
local fx = dofile("spec/fixtures/autograd.lua")

local function D(v) return torch.tensor(v, { dtype = "float64" }) end
local function close(a, b, tol)
  if not torch.is_tensor(b) then b = D(b) end
  b = b:double()
  assert.are.same(b.shape, a.shape)
  assert.is_true(torch.allclose(a:double(), b, { rtol = tol or 1e-9, atol = tol or 1e-12 }),
    "got " .. tostring(a) .. " expected " .. tostring(b))
end

-- the ops of the fixtures, by name (same definitions as gen_autograd.py)
local F = {
  mul_broadcast = function(a, v) return a * v end,
  div = function(a, v) return a / v end,
  pow = function(a) return a:abs() ^ 2.5 end,
  tanh = function(a) return a:tanh() end,
  sigmoid = function(a) return a:sigmoid() end,
  softmax = function(a) return a:softmax(2) end,
  log_softmax = function(a) return a:log_softmax(1) end,
  logsumexp = function(a) return a:logsumexp(2) end,
  matmul = function(a, b) return a:matmul(b) end,
  mv = function(a, v) return a:mv(v) end,
  var = function(a) return a:var(2) end,
  std = function(a) return a:std() end,
  norm = function(a) return a:norm() end,
  mean_keepdim = function(a) return a:mean(1, true) end,
  amax = function(a) return a:amax(2) end,
  cumsum = function(a) return a:cumsum(2) end,
  transpose_mm = function(a, b) return a:t():mm(b:t()) end,
}
local F2 = {
  tanh = function(a) return a:tanh() end,
  mul = function(a, b) return a * b * a end,
  matmul = function(a, b) return a:matmul(b) ^ 2 end,
  softmax = function(a) return a:softmax(2) end,
  log_softmax = function(a) return a:log_softmax(2) ^ 2 end,
  sigmoid_exp = function(a) return a:sigmoid():exp() end,
}
local function weights(t, div)
  return (torch.arange(1, t:numel() + 1):double() / div):view(t.shape)
end

describe("autograd", function()
  describe("seed examples", function()
    it("e = (a + b) * (2b + 1) with only a requiring grad", function()
      local a = torch.tensor(2.0, { requires_grad = true })
      local b = torch.tensor(3.0)
      local c = a + b
      local d = 2 * b + 1
      local e = c * d
      e:backward()
      assert.are.equal(35, e:item())
      assert.are.equal(7, a.grad:item())
      assert.is_nil(b.grad)
      assert.is_false(d.requires_grad)
      assert.is_nil(d.grad_fn)
    end)

    it("Q = 3a^3 - b^2 with an external gradient", function()
      local a = torch.tensor({ 2., 3. }, { requires_grad = true })
      local b = torch.tensor({ 6., 4. }, { requires_grad = true })
      local Q = 3 * a ^ 3 - b ^ 2
      Q:backward(torch.tensor({ 1., 1. }))
      assert.are.same({ 36, 81 }, a.grad:tolist())
      assert.are.same({ -12, -8 }, b.grad:tolist())
      close(a.grad, (9 * a ^ 2):detach())
      close(b.grad, (-2 * b):detach())
    end)

    it("accumulates into .grad across backward calls and shares AccumulateGrad", function()
      local x = torch.tensor({ 1., 2. }, { requires_grad = true })
      local y = (x * x):sum() + x:sum()
      y:backward()
      assert.are.same({ 3, 5 }, x.grad:tolist())
      local z = (x * 3):sum()
      z:backward()
      assert.are.same({ 6, 8 }, x.grad:tolist())
      x.grad = nil
      assert.is_nil(x.grad)
      local w = x * x
      local n = w.grad_fn.next_functions
      assert.are.equal(n[1][1], n[2][1]) -- one AccumulateGrad per leaf
    end)
  end)

  describe("grad_fn", function()
    it("names nodes and lists next_functions with AccumulateGrad at leaves", function()
      local a = torch.rand(2, 3, { requires_grad = true })
      local b = torch.rand(3)
      local y = (a * b + 1):sum()
      assert.are.equal("SumBackward", y.grad_fn:name())
      local add = y.grad_fn.next_functions[1][1]
      assert.are.equal("AddBackward", add:name())
      local mul = add.next_functions[1][1]
      assert.are.equal("MulBackward", mul:name())
      assert.is_nil(add.next_functions[2][1]) -- the number
      assert.are.equal("AccumulateGrad", mul.next_functions[1][1]:name())
      assert.are.equal(0, mul.next_functions[1][2])
      assert.is_nil(mul.next_functions[2][1]) -- b needs no grad
      assert.are.equal(a, mul.next_functions[1][1].variable)
      assert.is_true(a.is_leaf)
      assert.is_false(y.is_leaf)
      assert.is_true(b.is_leaf)
    end)

    it("names the ops of each family", function()
      local a = torch.rand(2, 3, { requires_grad = true })
      local names = {
        { a:exp(), "ExpBackward" }, { a:matmul(a:t()), "MatmulBackward" }, { a:t(), "TransposeBackward" },
        { a:view(6), "ViewBackward" }, { a:softmax(1), "SoftmaxBackward" }, { a:mean(), "MeanBackward" },
        { a[1], "SelectBackward" }, { torch.cat({ a, a }), "CatBackward" }, { a:relu(), "ReluBackward" },
        { (a:max(2)), "MaxBackward" }, { a:mm(a:t()), "MmBackward" }, { a:clone(), "CloneBackward" },
      }
      for _, p in ipairs(names) do assert.are.equal(p[2], p[1].grad_fn:name()) end
    end)

    it("prints requires_grad and grad_fn suffixes", function()
      local a = torch.tensor({ 1., 2. }, { requires_grad = true })
      assert.are.equal("tensor([1., 2.], requires_grad=true)", tostring(a))
      assert.are.equal("tensor([2., 4.], grad_fn=<MulBackward>)", tostring(a * 2))
      assert.matches("^<MulBackward object at", tostring((a * 2).grad_fn))
    end)
  end)

  describe("attributes", function()
    it("requires_grad is settable on float tensors only", function()
      local t = torch.zeros(2)
      t.requires_grad = true
      assert.is_true(t.requires_grad)
      t:requires_grad_(false)
      assert.is_false(t.requires_grad)
      local i = torch.zeros(2, { dtype = "int64" })
      assert.has_error(function() i.requires_grad = true end,
        "requires_grad: only tensors of floating point dtype can require gradients (got int64)")
      assert.has_error(function() (t:requires_grad_() * 2).requires_grad = false end)
    end)

    it("integer and bool inputs get no gradient", function()
      local x = torch.tensor({ 1., 2. }, { requires_grad = true })
      local k = torch.tensor({ 3, 4 })
      local y = (x * k):sum()
      y:backward()
      assert.are.same({ 3, 4 }, x.grad:tolist())
      assert.is_nil(k.grad)
      assert.is_false((x:gt(1)).requires_grad)
    end)

    it("float32 and float64 mix: gradients keep each input's dtype", function()
      local a = torch.tensor({ 1., 2. }, { requires_grad = true })
      local b = torch.tensor({ 3., 4. }, { dtype = "float64", requires_grad = true })
      local y = (a * b):sum()
      assert.are.equal("float64", y.dtype)
      y:backward()
      assert.are.equal("float32", a.grad.dtype)
      assert.are.equal("float64", b.grad.dtype)
      assert.are.same({ 3, 4 }, a.grad:tolist())
    end)

    it("data and detach are aliases without history", function()
      local a = torch.tensor({ 1., 2. }, { requires_grad = true })
      local y = a * 2
      local d = y:detach()
      assert.is_false(d.requires_grad)
      assert.is_nil(d.grad_fn)
      d[1] = 10
      assert.are.equal(10, y[1]:item()) -- shares storage
      local dd = a.data
      assert.is_false(dd.requires_grad)
      local z = a * 3
      z:detach_()
      assert.is_nil(z.grad_fn)
      assert.is_false(z.requires_grad)
    end)

    it("grad can be assigned a tensor of the same shape", function()
      local a = torch.zeros(2, { requires_grad = true })
      a.grad = torch.ones(2)
      assert.are.same({ 1, 1 }, a.grad:tolist())
      assert.has_error(function() a.grad = torch.ones(3) end,
        "grad: assigned grad has shape [3] but the tensor has shape [2]")
    end)

    it("retain_grad keeps the gradient of a non-leaf", function()
      local a = torch.tensor({ 1., 2. }, { requires_grad = true })
      local h = a * 2
      local h2 = a * 3
      h:retain_grad()
      local y = (h * h + h2):sum()
      y:backward()
      assert.are.same({ 4, 8 }, h.grad:tolist())
      assert.is_nil(h2.grad)
      assert.is_true(h.retains_grad)
    end)

    it("retain_grad survives an in-place rebase and detach_ drops it", function()
      local a = torch.tensor({ 1., 2. }, { requires_grad = true })
      local h = a * 2
      h:retain_grad()
      h:mul_(3)
      local y = (h * h):sum()
      y:backward()
      assert.are.same({ 12, 24 }, h.grad:tolist())
      local k = a * 2
      k:retain_grad()
      local z = (k * 1):sum()
      k:detach_()
      assert.is_false(k.retains_grad)
      k = nil
      collectgarbage()
      z:backward()
    end)
  end)

  describe("PyTorch fixtures", function()
    for _, c in ipairs(fx.first) do
      it("first order: " .. c.name, function()
        local xs = {}
        for i, v in ipairs(c.inputs) do xs[i] = D(v):requires_grad_() end
        local y = F[c.name](table.unpack(xs))
        close(y:detach(), c.output)
        local gs = torch.autograd.grad((y * weights(y, 10)):sum(), xs)
        for i = 1, #xs do close(gs[i], c.grads[i]) end
      end)
    end
    for _, c in ipairs(fx.second) do
      it("second order (create_graph): " .. c.name, function()
        local xs = {}
        for i, v in ipairs(c.inputs) do xs[i] = D(v):requires_grad_() end
        local y = F2[c.name](table.unpack(xs))
        local g = torch.autograd.grad((y * weights(y, 10)):sum(), xs, { create_graph = true })
        local s
        for i = 1, #xs do
          close(g[i]:detach(), c.grads[i])
          assert.is_true(g[i].requires_grad)
          local term = (g[i] * weights(g[i], 7)):sum()
          s = s and s + term or term
        end
        local gg = torch.autograd.grad(s, xs)
        for i = 1, #xs do close(gg[i], c.grads2[i]) end
      end)
    end

    it("backward with create_graph accumulates a differentiable .grad", function()
      local x = D({ 0.5, -1 }):requires_grad_()
      local y = (x ^ 3):sum()
      y:backward(nil, { create_graph = true })
      close(x.grad:detach(), { 0.75, 3 })
      local g = x.grad
      x.grad = nil
      g:sum():backward()
      close(x.grad, { 3, -6 }) -- d/dx 3x^2 = 6x
    end)
  end)

  describe("torch.autograd.grad", function()
    it("returns a list and leaves .grad alone", function()
      local x = D({ 1, 2 }):requires_grad_()
      local w = D({ 3, 4 }):requires_grad_()
      local y = (x * w):sum()
      local g = torch.autograd.grad(y, { x, w })
      close(g[1], { 3, 4 })
      close(g[2], { 1, 2 })
      assert.is_nil(x.grad)
      assert.is_nil(w.grad)
      assert.is_false(g[1].requires_grad)
    end)

    it("gradients of non-leaf inputs and grad_outputs", function()
      local x = D({ 1, 2 }):requires_grad_()
      local h = x * x
      local y = h * 3
      local g = torch.autograd.grad({ y }, { h }, { grad_outputs = { D({ 1, 10 }) } })
      close(g[1], { 3, 30 })
    end)

    it("allow_unused", function()
      local x = D({ 1 }):requires_grad_()
      local z = D({ 1 }):requires_grad_()
      local y = (x * 2):sum()
      assert.has_error(function() torch.autograd.grad(y, { x, z }, { retain_graph = true }) end)
      local g = torch.autograd.grad(y, { x, z }, { allow_unused = true })
      close(g[1], { 2 })
      assert.is_nil(g[2])
    end)

    it("torch.autograd.backward over several roots", function()
      local x = D({ 1, 2 }):requires_grad_()
      torch.autograd.backward({ (x * 2):sum(), (x * x):sum() })
      close(x.grad, { 4, 6 })
    end)

    it("torch.autograd.backward over 12 roots and a 300-node graph (the engine's arrays grow)", function()
      local x = D({ 1, 2 }):requires_grad_()
      local roots = {}
      for k = 1, 12 do
        local y = x
        for _ = 1, 25 do y = y * 1.0 end
        roots[k] = (y * k):sum()
      end
      torch.autograd.backward(roots)
      close(x.grad, { 78, 78 })
    end)
  end)

  describe("hooks", function()
    it("a hook can read and replace the gradient", function()
      local x = D({ 1, 2 }):requires_grad_()
      local seen
      x:register_hook(function(g) seen = g:clone() return g * 10 end)
      local h = x * 2
      h:register_hook(function(g) return g + 1 end)
      h:sum():backward()
      close(seen, { 4, 4 })
      close(x.grad, { 40, 40 })
    end)

    it("a hook returning the wrong shape is an error naming the shapes", function()
      local x = D({ 1, 2 }):requires_grad_()
      x:register_hook(function() return D({ 1, 2, 3 }) end)
      assert.has_error(function() (x * 2):sum():backward() end,
        "register_hook: hook returned a gradient of shape [3], expected shape [2]")
    end)

    it("an error inside a hook propagates", function()
      local x = D({ 1 }):requires_grad_()
      x:register_hook(function() error("boom", 0) end)
      assert.has_error(function() (x * 2):sum():backward() end, "boom")
    end)
  end)

  describe("errors", function()
    it("second backward through a freed graph", function()
      local x = D({ 1, 2 }):requires_grad_()
      local y = (x * x):sum()
      y:backward()
      local ok, err = pcall(y.backward, y)
      assert.is_false(ok)
      assert.matches("backward: trying to backward through the graph a second time", err)
      assert.matches("specify retain_graph=true", err)
    end)

    it("retain_graph allows a second backward", function()
      local x = D({ 1, 2 }):requires_grad_()
      local y = (x * x):sum()
      y:backward(nil, { retain_graph = true })
      y:backward()
      close(x.grad, { 4, 8 })
    end)

    it("in-place change of a saved tensor", function()
      local x = D({ 1, 2 }):requires_grad_()
      local h = x * 1
      local y = (h * h):sum()
      h:add_(1)
      assert.has_error(function() y:backward() end,
        "backward: a tensor saved by MulBackward was modified by an in-place operation (version 1, expected 0)")
    end)

    it("in-place on a leaf that requires grad", function()
      local x = D({ 1, 2 }):requires_grad_()
      assert.has_error(function() x:add_(1) end,
        "a leaf tensor that requires grad is being used in an in-place operation (add_)")
      assert.has_error(function() x:exp_() end,
        "a leaf tensor that requires grad is being used in an in-place operation (exp_)")
      torch.no_grad(function() x:add_(1) end)
      close(x:detach(), { 2, 3 })
    end)

    it("in-place on a non-leaf rebases its history", function()
      local x = D({ 1, 2 }):requires_grad_()
      local h = x * 2
      h:mul_(x) -- h = 2x^2
      assert.are.equal("MulBackward", h.grad_fn:name())
      h:add_(1)
      h:sum():backward()
      close(x.grad, { 4, 8 })
    end)

    it("non-scalar backward without a gradient", function()
      local x = torch.rand(2, 3, { requires_grad = true })
      assert.has_error(function() (x * 2):backward() end,
        "backward: grad can be implicitly created only for scalar outputs (got shape [2, 3])")
    end)

    it("backward of a tensor that does not require grad", function()
      assert.has_error(function() torch.ones(1):backward() end,
        "backward: element 1 of tensors does not require grad and does not have a grad_fn")
    end)

    it("out= with tensors requiring grad", function()
      local x = torch.rand(2, { requires_grad = true })
      assert.has_error(function() torch.exp(x, { out = torch.empty(2) }) end,
        "exp: functions with out= arguments don't support automatic differentiation")
    end)
  end)

  describe("grad mode", function()
    it("no_grad(fn) returns fn's results with recording off", function()
      local x = torch.rand(2, { requires_grad = true })
      local y, z = torch.no_grad(function(a) return a * 2, torch.is_grad_enabled() end, x)
      assert.is_false(y.requires_grad)
      assert.is_false(z)
      assert.is_true(torch.is_grad_enabled())
    end)

    it("no_grad(fn) restores the mode when fn errors", function()
      assert.has_error(function() torch.no_grad(function() error("inner", 0) end) end, "inner")
      assert.is_true(torch.is_grad_enabled())
    end)

    it("no_grad() is a to-be-closed guard; enable_grad nests", function()
      local x = torch.rand(2, { requires_grad = true })
      do
        local g <close> = torch.no_grad()
        assert.is_false(torch.is_grad_enabled())
        assert.is_false((x * 2).requires_grad)
        do
          local e <close> = torch.enable_grad()
          assert.is_true((x * 2).requires_grad)
        end
        assert.is_false(torch.is_grad_enabled())
        assert.is_true(torch.enable_grad(function() return (x * 2).requires_grad end))
      end
      assert.is_true(torch.is_grad_enabled())
      assert.is_true((x * 2).requires_grad)
    end)
  end)

  describe("scale and memory", function()
    it("backpropagates through a chain of 100,000 nodes", function()
      local x = torch.tensor(1.0, { requires_grad = true })
      local y = x
      for _ = 1, 100000 do y = y * 1.0 end
      y:backward()
      assert.are.equal(1, x.grad:item())
      y = nil
      collectgarbage()
    end)

    it("graphs dropped without backward do not leak", function()
      local w = torch.rand(64, 64, { requires_grad = true })
      local function step()
        local h = (torch.rand(8, 64):matmul(w)):tanh()
        local loss = (h * h):mean()
        return loss
      end
      for _ = 1, 20 do step() end
      collectgarbage(); collectgarbage()
      local base = torch.memory_allocated_cpu()
      for _ = 1, 300 do step() end
      collectgarbage(); collectgarbage()
      assert.is_true(torch.memory_allocated_cpu() <= base + 64 * 1024,
        "memory grew from " .. base .. " to " .. torch.memory_allocated_cpu())
    end)

    it("training-like loops with backward stay flat", function()
      local w = torch.rand(32, 32, { requires_grad = true })
      local function step()
        local loss = (torch.rand(4, 32):matmul(w)):sigmoid():sum()
        loss:backward()
        torch.no_grad(function() w:sub_(w.grad * 0.01) end)
        w.grad = nil
      end
      for _ = 1, 20 do step() end
      collectgarbage(); collectgarbage()
      local base = torch.memory_allocated_cpu()
      for _ = 1, 300 do step() end
      collectgarbage(); collectgarbage()
      assert.is_true(torch.memory_allocated_cpu() <= base + 64 * 1024)
    end)
  end)
end)
