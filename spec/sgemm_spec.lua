-- nl_sgemm (tensor/cpu/sgemm*.c): float32 products against the same products in float64,
-- over random and edge shapes (0, 1, the micro-kernel's 6 x 64 tile edges, K past one
-- 512 block, N past one column block), transposed views, leading dims larger than the
-- matrices (slices of bigger tensors, out= slices), alpha/beta through addmm, batched and
-- broadcast matmul, 1 and 2 threads, convolutions; and the OpenBLAS fallback
-- (NNLUA_GEMM=openblas) in a subprocess. Error bound per element: 1e-5 * sqrt(K) times the
-- magnitude of the terms (|alpha| |A| @ |B| + |beta C|), float32 accumulation.
local H = dofile("spec/helpers.lua")

-- max over elements of |got - want| - tol (<= 0 passes); want and scale are float64
local function excess(got, want, scale, K)
  local tol = scale * (1e-5 * math.sqrt(K + 1)) + 1e-30
  return ((got:double() - want):abs() - tol):max():item()
end

-- An (r, c) float32 matrix as a view with a row stride larger than c (a slice), or a
-- transposed view (columns dense, ld > r), or contiguous.
local function operand(r, c, how)
  if how == "slice" then
    local big = torch.randn({r + 3, c + 5})
    return big[{{2, r + 1}, {3, c + 2}}]
  elseif how == "t" then
    local big = torch.randn({c + 2, r + 4})
    return big[{{2, c + 1}, {1, r}}]:t()
  elseif how == "tcontig" then
    return torch.randn({c, r}):t()
  end
  return torch.randn({r, c})
end

local hows = {"contig", "slice", "t", "tcontig"}

local function check_mm(M, K, N, ha, hb, what)
  local a, b = operand(M, K, ha), operand(K, N, hb)
  local got = torch.matmul(a, b)
  assert.are.same({M, N}, {got:size(1), got:size(2)}, what)
  if M == 0 or N == 0 then return end
  local want = a:double():matmul(b:double())
  local scale = a:double():abs():matmul(b:double():abs())
  local e = excess(got, want, scale, K)
  assert(e <= 0, string.format("%s: %dx%dx%d (%s, %s) off by %g beyond the bound", what, M, K, N, ha, hb, e))
end

describe("nl_sgemm", function()
  local saved_threads
  setup(function() saved_threads = torch.get_num_threads() end)
  teardown(function() torch.set_num_threads(saved_threads) end)

  it("matches float64 on edge shapes, both transposes and leading dims, 1 and 2 threads", function()
    torch.manual_seed(1)
    local dims = {0, 1, 2, 5, 6, 7, 13, 16, 17, 63, 64, 65, 100, 130}
    math.randomseed(7)
    for _, nt in ipairs({1, 2}) do
      torch.set_num_threads(nt)
      for n = 1, 120 do
        local M, K, N = dims[math.random(#dims)], dims[math.random(#dims)], dims[math.random(#dims)]
        check_mm(M, K, N, hows[math.random(4)], hows[math.random(4)], "threads " .. nt .. " case " .. n)
      end
      -- every transpose pair on one shape with full and edge tiles
      for _, ha in ipairs(hows) do
        for _, hb in ipairs(hows) do check_mm(37, 45, 150, ha, hb, "threads " .. nt) end
      end
    end
  end)

  it("matches float64 on large products (several K and N blocks, threads)", function()
    torch.manual_seed(2)
    for _, nt in ipairs({1, 2}) do
      torch.set_num_threads(nt)
      check_mm(300, 1100, 700, "contig", "contig", "large")
      check_mm(130, 1030, 1500, "t", "t", "large")
      check_mm(64, 784, 512, "contig", "tcontig", "linear")
      check_mm(6, 75, 784, "contig", "contig", "conv-like")
      check_mm(20, 1100, 700, "slice", "slice", "small M, B in place, several K blocks")
      check_mm(24, 1030, 1500, "t", "contig", "small M, several N blocks")
      check_mm(1, 2000, 3, "slice", "t", "thin")
      check_mm(700, 1, 900, "t", "slice", "rank 1")
    end
  end)

  it("applies alpha and beta (addmm), beta 0 ignoring NaN in the input", function()
    torch.manual_seed(3)
    for _, nt in ipairs({1, 2}) do
      torch.set_num_threads(nt)
      for _, c in ipairs({{7, 9, 70}, {64, 600, 100}, {1, 1, 1}, {13, 0, 5}}) do
        local M, K, N = c[1], c[2], c[3]
        for _, ab in ipairs({{1, 1}, {0.5, 0}, {-2, 0.25}, {1, 1.5}, {0, 2}}) do
          local alpha, beta = ab[1], ab[2]
          local a, b = operand(M, K, "slice"), operand(K, N, "t")
          local input = torch.randn({M, N})
          if beta == 0 then input:fill_(0 / 0) end
          local got = torch.addmm(input, a, b, {beta = beta, alpha = alpha})
          local prod = a:double():matmul(b:double())
          local want = prod * alpha
          local scale = a:double():abs():matmul(b:double():abs()) * math.abs(alpha)
          if beta ~= 0 then
            want = want + input:double() * beta
            scale = scale + input:double():abs() * math.abs(beta)
          end
          local e = excess(got, want, scale, K)
          assert(e <= 0, string.format("addmm %dx%dx%d alpha %g beta %g: off by %g", M, K, N, alpha, beta, e))
        end
      end
    end
  end)

  it("writes into out= slices with a row stride larger than N and leaves the rest alone", function()
    torch.manual_seed(4)
    local big = torch.randn({40, 90})
    local before = big:clone()
    local o = big[{{3, 35}, {5, 74}}] -- (33, 70), row stride 90
    local a, b = torch.randn({33, 21}), torch.randn({21, 70})
    torch.matmul(a, b, {out = o})
    local want = a:double():matmul(b:double())
    assert(excess(o, want, a:double():abs():matmul(b:double():abs()), 21) <= 0)
    o:zero_()
    local diff = (big - before):abs()
    diff[{{3, 35}, {5, 74}}] = 0
    -- everything outside the slice is as it was (inside it was overwritten then zeroed)
    assert.are.equal(0, diff:sum():item())
  end)

  it("runs batched and broadcast products", function()
    torch.manual_seed(5)
    for _, nt in ipairs({1, 2}) do
      torch.set_num_threads(nt)
      local a, b = torch.randn({4, 17, 33}), torch.randn({4, 33, 70})
      local want = a:double():matmul(b:double())
      assert(excess(torch.bmm(a, b), want, a:double():abs():matmul(b:double():abs()), 33) <= 0)
      local w = torch.randn({70, 33}) -- broadcast, transposed second operand
      local got = torch.matmul(a, w:t())
      want = a:double():matmul(w:double():t())
      assert(excess(got, want, a:double():abs():matmul(w:double():abs():t()), 33) <= 0)
    end
  end)

  it("gives convolutions and their gradients the float64 results", function()
    torch.manual_seed(6)
    local F = nn.functional
    for _, nt in ipairs({1, 2}) do
      torch.set_num_threads(nt)
      for _, c in ipairs({{2, 3, 8, 12, 3, 1}, {5, 6, 16, 10, 5, 0}, {3, 4, 7, 5, 3, 1}}) do
        local N, C, O, HW, k, pad = c[1], c[2], c[3], c[4], c[5], c[6]
        local x = torch.randn({N, C, HW, HW}):requires_grad_()
        local w = torch.randn({O, C, k, k}):requires_grad_()
        local xd = x:detach():double():requires_grad_()
        local wd = w:detach():double():requires_grad_()
        local y = F.conv2d(x, w, nil, {padding = pad})
        local yd = F.conv2d(xd, wd, nil, {padding = pad})
        local K = C * k * k
        local ys = F.conv2d(xd:detach():abs(), wd:detach():abs(), nil, {padding = pad})
        assert(excess(y, yd:detach(), ys, K) <= 0, "conv2d forward")
        local g = torch.randn(y.shape)
        y:backward(g)
        yd:backward(g:double())
        -- gradient bounds: sums of |terms| of the same products, generous (sums over N*HW)
        local gx = (x.grad:double() - xd.grad):abs():max():item()
        local gw = (w.grad:double() - wd.grad):abs():max():item()
        assert(gx <= 1e-4 * (1 + xd.grad:abs():max():item()), "conv2d grad input " .. gx)
        assert(gw <= 1e-4 * (1 + wd.grad:abs():max():item()), "conv2d grad weight " .. gw)
      end
    end
  end)

  it("falls back to OpenBLAS with NNLUA_GEMM=openblas, with the same results", function()
    local d = H.tmpdir()
    local script = d .. "/mm.lua"
    H.writefile(script, [[
      torch.manual_seed(9)
      local a, b = torch.randn({70, 300}), torch.randn({90, 300})
      local got = torch.matmul(a, b:t())
      local want = a:double():matmul(b:double():t())
      local scale = a:double():abs():matmul(b:double():abs():t())
      local e = ((got:double() - want):abs() - scale * 2e-4):max():item()
      print(e <= 0 and "ok" or "bad", string.format("%.9g", got:sum():item()))
    ]])
    local out1, rc1 = H.run(script, "")
    local out2, rc2 = H.run(script, "", "NNLUA_GEMM=openblas")
    H.rmdir(d)
    assert.are.equal(0, rc1, out1)
    assert.are.equal(0, rc2, out2)
    assert.truthy(out1:match("^ok"), out1)
    assert.truthy(out2:match("^ok"), out2)
    local s1, s2 = tonumber(out1:match("ok%s+(%S+)")), tonumber(out2:match("ok%s+(%S+)"))
    assert(math.abs(s1 - s2) <= 1e-3 * (1 + math.abs(s1)), out1 .. " vs " .. out2)
  end)
end)
