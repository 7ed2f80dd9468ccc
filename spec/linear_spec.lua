-- nn/linear.c + autograd's fused Linear node (nl_ag_linear): 2-D CPU input to nn.Linear runs
-- y = x w^T + b and its backward as direct GEMM calls with transpose flags. Checked against the
-- general path (addmm over the transposed view, the engine's sum_to for the bias), float64
-- gradcheck, second order under create_graph, empty shapes, strided inputs, frozen weights,
-- in-place modification between forward and backward, and the tiny-product loop of nl_sgemm
-- (XOR-sized layers) against float64.
local linear = torch._nn.linear

local function close(got, want, tol, what)
  assert.are.same(want:size(), got:size(), what)
  if want:numel() == 0 then return end
  local e = (got:double() - want:double()):abs():max():item()
  assert(e <= tol, string.format("%s: off by %g (tol %g)", what or "", e, tol))
end

-- the reference: addmm over w:t() (bias) or mm, the composite path
local function reference(x, w, b)
  if b then return torch.addmm(b, x, w:t()) end
  return torch.mm(x, w:t())
end

-- forward and all three gradients of both paths from the same inputs
local function both(N, IN, OUT, dtype, opts)
  opts = opts or {}
  local x = torch.randn({ N, IN }, { dtype = dtype })
  if opts.x_t then x = torch.randn({ IN, N }, { dtype = dtype }):t() end
  local w = torch.randn({ OUT, IN }, { dtype = dtype })
  local b = torch.randn({ OUT }, { dtype = dtype })
  if opts.no_bias then b = nil end
  local g = torch.randn({ N, OUT }, { dtype = dtype })
  local r = {}
  for k, f in pairs({ fused = linear, ref = reference }) do
    local xs, ws = x:clone():requires_grad_(), w:clone():requires_grad_()
    local bs = b and b:clone():requires_grad_() or nil
    local y = f(xs, ws, bs)
    y:backward(g)
    r[k] = { y = y:detach(), gx = xs.grad, gw = ws.grad, gb = bs and bs.grad, fn = y.grad_fn:name() }
  end
  return r
end

describe("nn.Linear's fused CPU path", function()
  it("matches addmm over w:t() in values and gradients, float32 and float64, with and without bias", function()
    torch.manual_seed(11)
    for _, dt in ipairs({ torch.float32, torch.float64 }) do
      local tol = dt == torch.float64 and 1e-12 or 1e-4
      for _, s in ipairs({ { 4, 2, 4 }, { 4, 4, 2 }, { 1, 1, 1 }, { 7, 13, 5 }, { 64, 784, 512 }, { 3, 100, 70 } }) do
        for _, nb in ipairs({ false, true }) do
          local r = both(s[1], s[2], s[3], dt, { no_bias = nb })
          local what = string.format("%s %dx%d->%d bias=%s", tostring(dt), s[1], s[2], s[3], tostring(not nb))
          close(r.fused.y, r.ref.y, tol * math.sqrt(s[2]), what .. " y")
          close(r.fused.gx, r.ref.gx, tol * math.sqrt(s[3]), what .. " gx")
          close(r.fused.gw, r.ref.gw, tol * math.sqrt(s[1]), what .. " gw")
          if not nb then close(r.fused.gb, r.ref.gb, tol * math.sqrt(s[1]), what .. " gb") end
          assert.are.equal(nb and "MmBackward" or "AddmmBackward", r.fused.fn)
        end
      end
    end
  end)

  it("handles an empty batch, zero input features and a transposed (strided) input", function()
    torch.manual_seed(12)
    local r = both(0, 3, 2, torch.float64)
    assert.are.same({ 0, 2 }, r.fused.y:size())
    close(r.fused.gw, torch.zeros(2, 3, { dtype = torch.float64 }), 0, "empty batch gw")
    close(r.fused.gb, torch.zeros(2, { dtype = torch.float64 }), 0, "empty batch gb")
    r = both(3, 0, 2, torch.float32)
    close(r.fused.y, r.ref.y, 0, "in=0: y is the bias")
    assert.are.same({ 2, 0 }, r.fused.gw:size())
    r = both(5, 6, 3, torch.float32, { x_t = true })
    close(r.fused.y, r.ref.y, 1e-5, "transposed x")
    close(r.fused.gx, r.ref.gx, 1e-5, "transposed x gx")
    close(r.fused.gw, r.ref.gw, 1e-5, "transposed x gw")
  end)

  it("passes float64 gradcheck and gives second-order gradients under create_graph", function()
    torch.manual_seed(13)
    local x = torch.randn({ 3, 4 }, { dtype = torch.float64 }):requires_grad_()
    local w = torch.randn({ 2, 4 }, { dtype = torch.float64 }):requires_grad_()
    local b = torch.randn({ 2 }, { dtype = torch.float64 }):requires_grad_()
    assert.is_true(torch.autograd.gradcheck(function(a, c, d) return linear(a, c, d) end, { x, w, b }))
    assert.is_true(torch.autograd.gradcheck(function(a, c) return linear(a, c) end, { x, w }))
    -- a gradient penalty: d/dw of |d(sum(tanh(linear)^2))/dx|^2, fused against addmm
    local function penalty(f)
      local xs, ws, bs = x:detach():requires_grad_(), w:detach():requires_grad_(), b:detach():requires_grad_()
      local y = f(xs, ws, bs):tanh()
      local gx = torch.autograd.grad((y * y):sum(), { xs }, { create_graph = true })[1]
      assert.is_true(gx.requires_grad)
      local gg = torch.autograd.grad((gx * gx):sum(), { ws, bs })
      return gx:detach(), gg[1], gg[2]
    end
    local a1, a2, a3 = penalty(linear)
    local r1, r2, r3 = penalty(reference)
    close(a1, r1, 1e-12, "first order")
    close(a2, r2, 1e-12, "second order w")
    close(a3, r3, 1e-12, "second order b")
  end)

  it("computes only the gradients that are needed (frozen weight, input without grad)", function()
    torch.manual_seed(14)
    local m = nn.Linear(3, 2)
    m.weight.requires_grad = false
    local x = torch.randn(4, 3):requires_grad_()
    m(x):sum():backward()
    assert.is_nil(m.weight.grad)
    close(m.bias.grad, torch.full({ 2 }, 4), 0, "bias grad = batch size")
    close(x.grad, m.weight:sum(1):expand(4, 3), 1e-6, "x grad = column sums of w")
    local y = m(torch.randn(4, 3)) -- nothing requires grad but the bias
    assert.are.equal("AddmmBackward", y.grad_fn:name())
    torch.no_grad(function() assert.is_nil(m(x).grad_fn) end)
  end)

  it("detects a weight modified in place between forward and backward", function()
    local m = nn.Linear(3, 2)
    local y = m(torch.randn(4, 3))
    torch.no_grad(function() m.weight:mul_(2) end)
    local ok, err = pcall(function() y:sum():backward() end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("modified by an in-place operation", 1, true), err)
  end)

  it("accumulates into existing gradients across steps and trains XOR", function()
    torch.manual_seed(0)
    local net = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 2), nn.Sigmoid(), nn.Linear(2, 2))
    local x = torch.tensor({ { 0, 0 }, { 1, 0 }, { 0, 1 }, { 1, 1 } }, { dtype = torch.float32 })
    local y = torch.tensor({ 1, 2, 2, 1 })
    local crit = nn.CrossEntropyLoss()
    -- two backwards without zero_grad add up (the dense AccumulateGrad path)
    crit(net(x), y):backward()
    local g1 = net[1].weight.grad:clone()
    crit(net(x), y):backward()
    close(net[1].weight.grad, g1 * 2, 1e-6, "accumulated")
    local opt = optim.SGD(net:parameters(), { lr = 0.7 })
    for _ = 1, 3000 do
      opt:zero_grad()
      crit(net(x), y):backward()
      opt:step()
    end
    local pred = net(x):argmax(2)
    assert.are.same({ 1, 2, 2, 1 }, pred:tolist())
  end)
end)

describe("nl_sgemm's tiny products", function()
  it("match float64 for every transpose pair on XOR-sized and thin shapes", function()
    torch.manual_seed(15)
    for _, s in ipairs({ { 4, 2, 4 }, { 4, 4, 2 }, { 2, 4, 4 }, { 1, 1, 1 }, { 1, 1024, 1 }, { 16, 1, 64 }, { 3, 5, 7 } }) do
      local M, K, N = s[1], s[2], s[3]
      for _, ta in ipairs({ false, true }) do
        for _, tb in ipairs({ false, true }) do
          local a = ta and torch.randn(K, M):t() or torch.randn(M, K)
          local b = tb and torch.randn(N, K):t() or torch.randn(K, N)
          local c = torch.randn(M, N)
          local got = torch.addmm(c, a, b, { beta = 0.5, alpha = -2 })
          local want = c:double() * 0.5 + a:double():mm(b:double()) * -2
          close(got, want, 1e-5 * math.sqrt(K) * 4, string.format("%dx%dx%d ta=%s tb=%s", M, K, N, tostring(ta), tostring(tb)))
          local c2 = torch.full({ M, N }, 0 / 0)
          close(torch.addmm(c2, a, b, { beta = 0 }), a:double():mm(b:double()), 1e-5 * math.sqrt(K) * 4, "beta 0 ignores NaN")
        end
      end
    end
  end)
end)

describe("relu and sigmoid backward from the saved output (nn/activation.c, per-ISA clones)", function()
  it("give the bits of the formulas in tensor ops on odd sizes, float32 and float64", function()
    torch.manual_seed(16)
    for _, dt in ipairs({ torch.float32, torch.float64 }) do
      for _, n in ipairs({ 1, 15, 17, 1000, 33333 }) do
        local x = torch.randn(n, { dtype = dt }):requires_grad_()
        local g = torch.randn(n, { dtype = dt })
        local ys = x:sigmoid()
        ys:backward(g)
        local y = ys:detach()
        assert.is_true(x.grad:eq(g * (y * (1 - y))):all():item(), "sigmoid " .. n)
        x.grad = nil
        local yr = x:relu()
        yr:backward(g)
        assert.is_true(x.grad:eq(torch.where(yr:detach():gt(0), g, 0)):all():item(), "relu " .. n)
      end
    end
  end)
end)
