-- Fast paths added for the workload benchmarks (issue 8): batched conv GEMMs (HW <= 64),
-- the max-pool no-padding path, fused relu / sigmoid backward. Each is checked against a
-- path that does not take the fast route (per-sample conv, padded pooling, formula).
local function close(a, b, tol)
  return (a - b):abs():max():item() <= (tol or 1e-5)
end

describe("batched conv2d (small outputs)", function()
  it("matches per-sample convolution, forward and backward, groups and stride", function()
    torch.manual_seed(1)
    for _, dt in ipairs({ torch.float32, torch.float64 }) do
      local x = torch.randn(3, 4, 6, 6, { dtype = dt, requires_grad = true })
      local w = torch.randn(6, 2, 3, 3, { dtype = dt, requires_grad = true })
      local b = torch.randn(6, { dtype = dt, requires_grad = true })
      local y = nn.functional.conv2d(x, w, b, { stride = 2, padding = 1, groups = 2 }) -- HW 9: batched
      local gy = torch.randn(y.shape, { dtype = dt })
      local gx, gw, gb = table.unpack(torch.autograd.grad(y, { x, w, b }, { grad_outputs = gy }))
      local gw_ref, gb_ref = torch.zeros_like(w), torch.zeros_like(b)
      for n = 1, 3 do -- N = 1: the per-sample path
        local xn = x:detach()[{ { n, n } }]:clone():requires_grad_()
        local yn = nn.functional.conv2d(xn, w, b, { stride = 2, padding = 1, groups = 2 })
        assert.is_true(close(yn:detach(), y:detach()[{ { n, n } }]))
        local a, c, d = table.unpack(torch.autograd.grad(yn, { xn, w, b }, { grad_outputs = gy[{ { n, n } }] }))
        assert.is_true(close(a, gx[{ { n, n } }]))
        gw_ref, gb_ref = gw_ref + c, gb_ref + d
      end
      assert.is_true(close(gw, gw_ref, 1e-4))
      assert.is_true(close(gb, gb_ref, 1e-4))
    end
  end)
end)

describe("max_pool2d without padding", function()
  it("matches the padded path's maxima and indices on a 2x2/2 window", function()
    torch.manual_seed(2)
    local x = torch.randn(2, 3, 8, 8)
    local y, i = nn.functional.max_pool2d(x, 2, { return_indices = true })
    -- reference: max over the 2x2 blocks by reshaping
    local ref = x:reshape({ 2, 3, 4, 2, 4, 2 }):amax({ 4, 6 })
    assert.is_true(close(y, ref, 0))
    -- indices point at the maxima in the flattened plane (1-based)
    local flat = x:reshape({ 2, 3, 64 })
    assert.is_true(close(flat:gather(3, i:reshape({ 2, 3, 16 })), y:reshape({ 2, 3, 16 }), 0))
  end)
end)

describe("fused relu / sigmoid backward", function()
  it("equals the formulas, also for a non-contiguous (expanded) grad", function()
    for _, dt in ipairs({ torch.float32, torch.float64 }) do
      local x = torch.tensor({ { -1, 0, 2 }, { 3, -4, 0.5 } }, { dtype = dt, requires_grad = true })
      local g = torch.tensor({ { 1, 2, 3 } }, { dtype = dt }):expand({ 2, 3 })
      local gr = torch.autograd.grad(x:relu(), { x }, { grad_outputs = g })[1]
      assert.same({ { 0, 0, 3 }, { 1, 0, 3 } }, gr:tolist())
      local s = x:detach():sigmoid()
      local gs = torch.autograd.grad(x:sigmoid(), { x }, { grad_outputs = g })[1]
      assert.is_true(close(gs, g * s * (1 - s), 1e-6))
    end
  end)
end)

describe("matmul / addmm gradients in the transposed operand's layout", function()
  it("gives weight.grad of x @ w:t() contiguous and equal to the plain product", function()
    torch.manual_seed(3)
    for _, dt in ipairs({ torch.float32, torch.float64 }) do
      local w = torch.randn(5, 7, { dtype = dt, requires_grad = true })
      local b = torch.randn(5, { dtype = dt, requires_grad = true })
      local x = torch.randn(4, 7, { dtype = dt, requires_grad = true })
      local gy = torch.randn(4, 5, { dtype = dt })
      for _, f in ipairs({
        function() return torch.addmm(b, x, w:t()) end, -- nn.Linear's node
        function() return x:mm(w:t()) end,              -- MmBackward
        function() return x:t():t():matmul(w:t()) end,
      }) do
        w.grad, x.grad = nil, nil
        f():backward(gy)
        assert.is_true(w.grad:is_contiguous())
        assert.is_true(close(w.grad, gy:t():mm(x:detach()), 1e-5))
        assert.is_true(close(x.grad, gy:mm(w:detach()), 1e-5))
        -- accumulation into the kept grad: twice the product
        f():backward(gy)
        assert.is_true(close(w.grad, 2 * gy:t():mm(x:detach()), 1e-5))
      end
      -- a transposed first operand: its gradient keeps that layout too
      local a = torch.randn(7, 4, { dtype = dt, requires_grad = true })
      local m = torch.randn(7, 5, { dtype = dt })
      a:t():mm(m):backward(gy)
      assert.is_true(a.grad:is_contiguous())
      assert.is_true(close(a.grad, m:mm(gy:t()), 1e-5))
      -- double backward through the rearranged product
      local gw = torch.autograd.grad(torch.addmm(b, x, w:t()):pow(2):sum(), { w }, { create_graph = true })[1]
      local h = torch.autograd.grad(gw:sum(), { x })[1]
      assert.equal(4, h.shape[1]); assert.equal(7, h.shape[2])
    end
  end)
end)

describe("max_pool2d 2x2/2 window loop", function()
  it("keeps the first maximum on ties and lets NaN win, as the general loop", function()
    for _, dt in ipairs({ torch.float32, torch.float64 }) do
      local x = torch.tensor({ { { 1, 1, 0 / 0, 2 }, { 1, 0, 5, 1 } } }, { dtype = dt })
      local y, i = nn.functional.max_pool2d(x, 2, { return_indices = true })
      assert.equal(1, y[1][1][1]:item())
      assert.equal(1, i[1][1][1]:item()) -- first of the tied 1s (1-based flat index)
      assert.is_true(y[1][1][2]:isnan():item())
      assert.equal(3, i[1][1][2]:item())
    end
  end)
end)
