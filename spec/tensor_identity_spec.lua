-- The same C tensor pushed twice is the same Lua value (vm/ltensor.c: the userdata cache,
-- slots recycled by __gc), also across collections and while garbage tensors are finalized.
describe("tensor identity", function()
  it("keeps t.grad == t.grad across collections and garbage", function()
    local x = torch.tensor({ 1.0, 2.0, 3.0 }, { requires_grad = true })
    ;(x * x):sum():backward()
    local g1 = x.grad
    assert.is_true(rawequal(g1, x.grad))
    for _ = 1, 5000 do local _ = torch.rand(4) + 1 end -- garbage: slots freed and reused
    collectgarbage()
    assert.is_true(rawequal(g1, x.grad))
    assert.are.same({ 2, 4, 6 }, g1:tolist())
  end)

  it("gives a fresh userdata after the old one was collected, with the same contents", function()
    local x = torch.tensor({ 1.0, 2.0 }, { requires_grad = true })
    ;(x * 3):sum():backward()
    local id = tostring(x.grad)
    collectgarbage()
    collectgarbage()
    for _ = 1, 3000 do local _ = torch.rand(2) * 2 end
    local g = x.grad
    assert.are.same({ 3, 3 }, g:tolist())
    assert.is_true(rawequal(g, x.grad))
    assert.are.equal(id, tostring(g))
  end)

  it("keeps identity of many live tensors held in C while others churn", function()
    local xs, gs = {}, {}
    for i = 1, 300 do
      xs[i] = torch.full({ 2 }, i + 0.5, { requires_grad = true })
      ;(xs[i] * 2):sum():backward()
      gs[i] = xs[i].grad
    end
    for _ = 1, 20000 do local _ = torch.rand(3) - 1 end
    collectgarbage()
    for i = 1, 300 do
      assert.is_true(rawequal(gs[i], xs[i].grad))
      assert.are.same({ 2, 2 }, xs[i].grad:tolist())
    end
    gs = nil
    collectgarbage()
    collectgarbage()
    for i = 1, 300 do
      local g = xs[i].grad
      assert.is_true(rawequal(g, xs[i].grad))
      assert.are.same({ 2, 2 }, g:tolist())
    end
  end)

  it("keeps tensors in a table alive and intact through many collections", function()
    local keep = {}
    for i = 1, 2000 do keep[i] = torch.full({ 3 }, i) end
    for _ = 1, 10 do
      for _ = 1, 2000 do local _ = torch.rand(5) end
      collectgarbage("step", 64)
    end
    collectgarbage()
    for i = 1, 2000, 97 do assert.are.same({ i, i, i }, keep[i]:tolist()) end
  end)
end)
