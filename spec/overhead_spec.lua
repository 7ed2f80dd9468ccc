-- Fast paths for small tensors (issue 8): they must give what the general paths give.
describe("per-call fast paths", function()
  local x = torch.tensor({ { 0.1, 2.0, -1.0 }, { 0.5, 0.5, 3.0 }, { -2.0, 1.0, 0.0 } }, { dtype = torch.float32 })
  local y = torch.tensor({ 1, 3, 2 }, { dtype = torch.int64 })

  it("CrossEntropyLoss and F.cross_entropy without options equal the options path", function()
    local F = nn.functional
    local ref = F.cross_entropy(x, y, { reduction = "mean" }):item()
    assert.is_near(ref, nn.CrossEntropyLoss()(x, y):item(), 1e-6)
    assert.is_near(ref, F.cross_entropy(x, y):item(), 1e-6)
    -- by hand: mean of logsumexp(x_i) - x_i[y_i]
    local s = 0
    for i = 1, 3 do
      local r = x[i]:tolist()
      local m = math.log(math.exp(r[1]) + math.exp(r[2]) + math.exp(r[3]))
      s = s + m - r[y[i]:item()]
    end
    assert.is_near(s / 3, ref, 1e-5)
  end)

  it("the fast path honours ignore_index, reduction, int32 labels and float targets", function()
    local F = nn.functional
    local l = nn.CrossEntropyLoss({ ignore_index = 3, reduction = "sum" })(x, y):item()
    assert.is_near(F.cross_entropy(x, y, { ignore_index = 3, reduction = "sum" }):item(), l, 1e-6)
    local l32 = nn.CrossEntropyLoss()(x, y:to(torch.int32)):item()
    assert.is_near(nn.CrossEntropyLoss()(x, y):item(), l32, 1e-6)
    local p = torch.softmax(torch.randn(3, 3), 2)
    assert.is_near(F.cross_entropy(x, p, { reduction = "mean" }):item(), nn.CrossEntropyLoss()(x, p):item(), 1e-6)
    assert.has_error(function() nn.CrossEntropyLoss()(x, torch.tensor({ 1, 4, 2 })) end)
    assert.has_error(function() nn.CrossEntropyLoss()(x, "y") end)
  end)

  it("the fast path's gradient equals the general path's", function()
    local a = x:clone():requires_grad_()
    nn.CrossEntropyLoss()(a, y):backward()
    local b = x:clone():requires_grad_()
    nn.functional.cross_entropy(b, y, { weight = torch.ones(3) }):backward()
    assert.is_true(a.grad:allclose(b.grad, 1e-6, 1e-6))
  end)

  it("SGD and sums agree below and above the parallel grain (serial and OpenMP loops)", function()
    for _, n in ipairs({ 7, 40000 }) do
      local p = torch.linspace(-1, 1, n):requires_grad_()
      local opt = optim.SGD({ p }, { lr = 0.5, momentum = 0.9 })
      for _ = 1, 2 do
        opt:zero_grad();
        (p * p):sum():backward()
        opt:step()
      end
      -- by hand for one element: v1 = 2w, w1 = w - 0.5 v1; v2 = 0.9 v1 + 2 w1, w2 = w1 - 0.5 v2
      local w = p:detach()[n]:item()
      local w0 = 1.0
      local v1 = 2 * w0; local w1 = w0 - 0.5 * v1
      local v2 = 0.9 * v1 + 2 * w1
      assert.is_near(w1 - 0.5 * v2, w, 1e-5)
      assert.is_near(n * (n + 1) / 2, torch.arange(1, n + 1, { dtype = torch.float64 }):sum():item(), 1e-6)
    end
  end)
end)

describe("cross_entropy's direct CPU path (2-D logits, class indices, no weight)", function()
  it("gives the general path's bits: loss and gradient, float32/float64, mean/sum, ignore_index, empty batch", function()
    torch.manual_seed(5)
    local F = nn.functional
    for _, dt in ipairs({ torch.float32, torch.float64 }) do
      for _, red in ipairs({ "mean", "sum" }) do
        for _, sh in ipairs({ { 4, 2 }, { 64, 10 }, { 7, 1 }, { 0, 3 }, { 5, 1000 } }) do
          local x = (torch.randn(sh) * 5):to(dt):requires_grad_()
          local t = torch.randint(1, sh[2] + 1, { sh[1] })
          if sh[1] > 2 then t[2] = -99 end
          local l1 = F.cross_entropy(x, t, { reduction = red, ignore_index = -99 })
          local g1 = torch.autograd.grad(l1, { x })[1]
          -- a weight of ones takes the general (float64 copy) path with the same arithmetic
          local l2 = F.cross_entropy(x, t, { reduction = red, ignore_index = -99, weight = torch.ones(sh[2], { dtype = dt }) })
          local g2 = torch.autograd.grad(l2, { x })[1]
          local a, b = l1:item(), l2:item()
          assert.is_true(a == b or (a ~= a and b ~= b), ("%s %s %s"):format(tostring(dt), red, table.concat(sh, "x")))
          assert.is_true(g1:equal(g2))
        end
      end
    end
  end)

  it("checks targets as the general path does", function()
    local x = torch.randn(3, 4)
    assert.has_error(function() nn.functional.cross_entropy(x, torch.tensor({ 1, 5, 2 })) end)
    local ok, err = pcall(nn.functional.cross_entropy, x, torch.tensor({ 1, 5, 2 }))
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find("1..4", 1, true))
  end)
end)
