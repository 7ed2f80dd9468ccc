-- The direct float32 convolution (nn/conv_direct.c) and the 16-lane 2x2 max pool (nn/pool.c):
-- fast paths for LeNet-sized layers (issue 8). Each is checked against a path that does not
-- take it: the float64 im2col + GEMM path (never direct), and the float32 im2col path forced
-- with NNLUA_CONV=gemm in a subprocess.
local H = dofile("spec/helpers.lua")
local N = torch._nn
local F = nn.functional

-- max |a - ref| / max |ref| (ref float64)
local function relerr(a, ref)
  local d = (a:double() - ref):abs():max():item()
  return d / math.max(ref:abs():max():item(), 1e-30)
end

-- { input shape, weight shape, padding, what it covers }
local geometries = {
  { { 4, 3, 32, 32 }, { 6, 3, 5, 5 }, 0, "LeNet conv1 (28 columns: 2 vectors)" },
  { { 4, 6, 14, 14 }, { 16, 6, 5, 5 }, 0, "LeNet conv2 (10 columns, 16 channels)" },
  { { 3, 1, 28, 28 }, { 6, 1, 3, 3 }, 0, "Fashion conv1 (one input channel)" },
  { { 2, 6, 13, 13 }, { 16, 6, 3, 3 }, 0, "Fashion conv2 (odd width)" },
  { { 2, 3, 17, 17 }, { 5, 3, 3, 3 }, 1, "padding 1, 17 columns" },
  { { 2, 2, 9, 64 }, { 7, 2, 3, 3 }, 1, "64 columns: 4 vectors" },
  { { 1, 4, 20, 33 }, { 9, 4, 4, 2 }, { 1, 1 }, "non-square kernel, 3 vectors" },
  { { 5, 2, 6, 50 }, { 3, 2, 2, 2 }, 0, "even kernel, 49 columns" },
  { { 2, 3, 8, 8 }, { 32, 3, 3, 3 }, 2, "32 output channels, padding 2" },
  { { 1, 1, 1, 1 }, { 1, 1, 1, 1 }, 0, "1x1 everything" },
  { { 3, 5, 7, 47 }, { 11, 5, 7, 3 }, { 3, 1 }, "7-row kernel, per-dim padding" },
  { { 2, 3, 10, 16 }, { 4, 3, 3, 3 }, 1, "exactly 16 columns" },
  { { 9, 32, 6, 6 }, { 13, 32, 3, 3 }, 1, "32 input channels, 9 samples (chunks)" },
}

describe("direct conv2d", function()
  it("is the algorithm for LeNet-sized float32 layers, and only for those", function()
    local x, w = torch.randn(2, 3, 32, 32), torch.randn(6, 3, 5, 5)
    assert.are.equal("direct", N.conv2d_algorithm(x, w))
    assert.are.equal("direct", N.conv2d_algorithm(x, w, 1, 2))
    assert.are.equal("im2col", N.conv2d_algorithm(x:double(), w:double()))
    assert.are.equal("im2col", N.conv2d_algorithm(x, w, 2)) -- stride
    assert.are.equal("im2col", N.conv2d_algorithm(x, w, 1, 0, 2)) -- dilation
    assert.are.equal("im2col", N.conv2d_algorithm(x, w, 1, 5)) -- padding >= kernel
    assert.are.equal("im2col", N.conv2d_algorithm(torch.randn(1, 3, 8, 100), w)) -- 96 columns
    assert.are.equal("im2col", N.conv2d_algorithm(torch.randn(1, 64, 8, 8), torch.randn(64, 64, 3, 3)))
    assert.are.equal("im2col", N.conv2d_algorithm(torch.randn(1, 4, 8, 8), torch.randn(4, 2, 3, 3), 1, 0, 1, 2))
    assert.has_error(function() N.conv2d_algorithm(x, torch.randn(6, 4, 5, 5)) end,
      "conv2d: input has 3 channels but weight expects 4 (weight [6, 4, 5, 5], groups 1)")
  end)

  for _, g in ipairs(geometries) do
    it("matches the float64 path: " .. g[4], function()
      torch.manual_seed(7)
      local x, w, b = torch.randn(g[1]), torch.randn(g[2]), torch.randn(g[2][1])
      assert.are.equal("direct", N.conv2d_algorithm(x, w, 1, g[3]))
      local y = N.conv2d(x, w, b, 1, g[3])
      local y64 = N.conv2d(x:double(), w:double(), b:double(), 1, g[3])
      assert.are.same(y64.shape, y.shape)
      assert.is_true(relerr(y, y64) < 2e-6, "forward " .. relerr(y, y64))
      local gy = torch.randn(y.shape)
      local gx, gw, gb = N.conv2d_backward(gy, x, w, 1, g[3])
      local gx64, gw64, gb64 = N.conv2d_backward(gy:double(), x:double(), w:double(), 1, g[3])
      assert.is_true(relerr(gx, gx64) < 2e-6, "input gradient " .. relerr(gx, gx64))
      assert.is_true(relerr(gw, gw64) < 2e-6, "weight gradient " .. relerr(gw, gw64))
      assert.is_true(relerr(gb, gb64) < 2e-6, "bias gradient " .. relerr(gb, gb64))
    end)
  end

  it("handles padding='same' (asymmetric: 4-wide kernel) and conv1d", function()
    torch.manual_seed(8)
    local x, w = torch.randn(2, 3, 11, 13), torch.randn(5, 3, 4, 4)
    local y = F.conv2d(x, w, nil, { padding = "same" })
    local y64 = F.conv2d(x:double(), w:double(), nil, { padding = "same" })
    assert.are.same({ 2, 5, 11, 13 }, { y.shape[1], y.shape[2], y.shape[3], y.shape[4] })
    assert.is_true(relerr(y, y64) < 2e-6)
    local x1, w1 = torch.randn(3, 4, 40):requires_grad_(), torch.randn(6, 4, 5):requires_grad_()
    local y1 = F.conv1d(x1, w1, nil, { padding = 2 })
    local g1 = torch.randn(y1.shape)
    local gx, gw = table.unpack(torch.autograd.grad(y1, { x1, w1 }, { grad_outputs = g1 }))
    local xd, wd = x1:detach():double():requires_grad_(), w1:detach():double():requires_grad_()
    local yd = F.conv1d(xd, wd, nil, { padding = 2 })
    local gxd, gwd = table.unpack(torch.autograd.grad(yd, { xd, wd }, { grad_outputs = g1:double() }))
    assert.is_true(relerr(y1:detach(), yd:detach()) < 2e-6)
    assert.is_true(relerr(gx, gxd) < 2e-6 and relerr(gw, gwd) < 2e-6)
  end)

  it("gives the same bits for 1 and 2 threads (fixed sample chunks in the weight gradient)", function()
    torch.manual_seed(9)
    local x, w = torch.randn(64, 3, 32, 32), torch.randn(6, 3, 5, 5)
    local gy = torch.randn(64, 6, 28, 28)
    local old = torch.get_num_threads()
    torch.set_num_threads(1)
    local y1 = N.conv2d(x, w, nil)
    local _, gw1 = N.conv2d_backward(gy, x, w)
    torch.set_num_threads(2)
    local y2 = N.conv2d(x, w, nil)
    local _, gw2 = N.conv2d_backward(gy, x, w)
    torch.set_num_threads(old)
    assert.is_true(y1:eq(y2):all():item())
    assert.is_true(gw1:eq(gw2):all():item())
  end)

  it("propagates inf and nan to exactly the outputs and gradients the float64 path has them in", function()
    torch.manual_seed(10)
    local x, w = torch.randn(2, 3, 12, 12), torch.randn(4, 3, 3, 3)
    x[{ 1, 2, 5, 1 }] = math.huge
    x[{ 2, 1, 12, 12 }] = 0 / 0
    local y = N.conv2d(x, w, nil, 1, 1)
    local y64 = N.conv2d(x:double(), w:double(), nil, 1, 1)
    local gy = torch.randn(y.shape)
    local _, gw = N.conv2d_backward(gy, x, w, 1, 1)
    local _, gw64 = N.conv2d_backward(gy:double(), x:double(), w:double(), 1, 1)
    assert.is_true(y:isnan():eq(y64:isnan()):all():item())
    assert.is_true(y:isinf():eq(y64:isinf()):all():item())
    assert.is_true(gw:isnan():eq(gw64:isnan()):all():item())
    assert.is_true(gw:isnan():logical_or(gw:isinf()):logical_not():any():item()) -- taps that never meet the bad pixels stay finite
  end)

  it("keeps an inf weight out of the input gradient's rows that col2im never reaches", function()
    -- the input gradient is a full correlation over grad_output padded by k-1-p; kernel rows
    -- reading only padding rows are skipped (col2im never multiplies a weight by them), so the
    -- rows holding inf/nan are the float64 path's. Columns still read padding: 0 * inf = nan
    -- there, so within such a row the direct path may have more non-finite entries.
    torch.manual_seed(11)
    for _, pad in ipairs({ 0, 1 }) do
      local x, w = torch.randn(2, 6, 14, 14), torch.randn(16, 6, 5, 5)
      w[{ 3, 2, 1, 3 }] = math.huge
      w[{ 7, 5, 5, 5 }] = 0 / 0
      assert.are.equal("direct", N.conv2d_algorithm(x, w, 1, pad, 1, 1))
      local gy = torch.randn(N.conv2d(x, w, nil, 1, pad).shape)
      local gx = N.conv2d_backward(gy, x, w, 1, pad)
      local gx64 = N.conv2d_backward(gy:double(), x:double(), w:double(), 1, pad)
      local bad = gx:isnan():logical_or(gx:isinf())
      local bad64 = gx64:isnan():logical_or(gx64:isinf())
      assert.is_true(bad:any(4):eq(bad64:any(4)):all():item(), "rows with inf/nan, padding " .. pad)
      assert.is_true(bad64:logical_and(bad:logical_not()):any():item() == false, "a superset of the entries")
      assert.is_true(bad:any(4):logical_not():any():item(), "some rows stay finite")
      local fin = bad:logical_not()
      assert.is_true(relerr(gx[fin], gx64[fin]) < 1e-5)
    end
  end)

  it("agrees with the float32 im2col path (NNLUA_CONV=gemm) on a LeNet training step", function()
    local dir = H.tmpdir()
    local script = dir .. "/step.lua"
    H.writefile(script, [[
      torch.manual_seed(11)
      local net = dofile("scripts/models/lenet.lua").CifarNet()
      local x, y = torch.randn(8, 3, 32, 32), torch.randint(1, 11, { 8 })
      local loss = nn.CrossEntropyLoss()(net(x), y)
      loss:backward()
      io.write(torch._nn.conv2d_algorithm(x, net.conv1.weight), " ", string.format("%.9g", loss:item()))
      for _, p in ipairs(net:parameters()) do io.write(" ", string.format("%.9g", p.grad:abs():sum():item())) end
    ]])
    local direct, rc1 = H.run(script)
    local gemm, rc2 = H.run(script, "", "NNLUA_CONV=gemm")
    H.rmdir(dir)
    assert.are.equal(0, rc1, direct)
    assert.are.equal(0, rc2, gemm)
    local a, b = {}, {}
    for v in direct:gmatch("%S+") do a[#a + 1] = v end
    for v in gemm:gmatch("%S+") do b[#b + 1] = v end
    assert.are.equal("direct", a[1])
    assert.are.equal("im2col", b[1])
    assert.are.equal(#a, #b)
    for i = 2, #a do
      local u, v = tonumber(a[i]), tonumber(b[i])
      assert.is_true(math.abs(u - v) <= 1e-5 * math.max(1, math.abs(v)), i .. ": " .. u .. " vs " .. v)
    end
  end)
end)

describe("max_pool2d 2x2/2 on float32 rows of at most 16 outputs", function()
  it("gives the float64 path's maxima and indices: ties, nan, -inf, odd sizes, the tensor's last row", function()
    torch.manual_seed(12)
    for _, s in ipairs({ { 2, 3, 28, 28 }, { 4, 6, 10, 10 }, { 3, 2, 26, 26 }, { 1, 1, 2, 2 }, { 2, 5, 32, 31 },
                          { 1, 1, 33, 33 }, { 2, 2, 6, 34 }, { 1, 1, 5, 3 } }) do
      for trial = 1, 3 do
        local x = torch.randn(s)
        if trial == 2 then x = torch.randint(0, 3, s):float() end -- ties: the first maximum wins
        if trial == 3 and s[3] >= 4 and s[4] >= 4 then
          x[{ {}, {}, 1, 1 }] = 0 / 0
          x[{ {}, {}, 2, 4 }] = 0 / 0
          x[{ {}, {}, 3, 3 }] = -math.huge
        end
        local y, i = F.max_pool2d(x, 2, { return_indices = true })
        local y64, i64 = F.max_pool2d(x:double(), 2, { return_indices = true })
        assert.is_true(i:eq(i64):all():item(), table.concat(s, "x") .. " trial " .. trial)
        assert.is_true(y:double():eq(y64):logical_or(y:isnan():logical_and(y64:isnan())):all():item())
      end
    end
  end)
end)
