-- cuda_nn_spec: nn and optim on CUDA against the CPU (issue 9): forward and backward of
-- convolutions, pools (adaptive and 1-d included), norms, losses, activations, embedding,
-- one_hot, pad, dropout mask equality, and one step of every optimizer. Tagged `gpu` (scripts/gpu/run.sh); everything touching CUDA is
-- inside `it` blocks, so loading this file on a CPU-only machine does nothing.
-- NOTE: written without a GPU at hand; never executed yet (see the cudann report).

local describe_gpu = torch.cuda.is_available() and describe or function(name, _)
  describe(name, function() it("needs a GPU", function() pending("no GPU: torch.cuda.is_available() is false") end) end)
end

describe_gpu("cuda nn vs cpu #gpu", function()
  local F = nn.functional
  local dev = "cuda"

  local function close(g, c, tol, what)
    assert.are.same(c.shape, g.shape, what)
    local a, b = g:cpu():double(), c:double()
    local d = (a - b):abs()
    assert.is_false(d:gt(b:abs() * tol + tol):any():item(), (what or "") .. ": max diff " .. tostring(d:max():item()))
  end

  -- Runs fn on CPU copies and CUDA copies of the inputs (float inputs require grad), then
  -- backward with the same random gradient; compares outputs and every input gradient.
  local function check(fn, inputs, tol, what)
    local res = {}
    for _, d in ipairs({"cpu", dev}) do
      local xs = {}
      for i, t in ipairs(inputs) do
        local v = t:to(d):detach()
        if t.dtype == torch.float32 or t.dtype == torch.float64 then v.requires_grad = true end
        xs[i] = v
      end
      torch.manual_seed(11)
      local y = fn(table.unpack(xs))
      if #y.shape == 0 then
        y:backward()
      else
        torch.manual_seed(12)
        y:backward(torch.randn(y.shape, {dtype = y.dtype}):to(d))
      end
      res[d] = {y = y:detach(), xs = xs}
    end
    close(res[dev].y, res.cpu.y, tol, what .. " (forward)")
    for i, x in ipairs(res.cpu.xs) do
      if x.grad then close(res[dev].xs[i].grad, x.grad, tol, what .. " (grad of input " .. i .. ")") end
    end
  end

  local dts = {{torch.float64, 1e-9}, {torch.float32, 2e-4}}
  local function r(...) return torch.randn({...}, {dtype = torch.float64}) end

  it("conv2d, conv1d, conv_transpose2d (groups, strides, padding, dilation, non-contiguous input)", function()
    for _, dt in ipairs(dts) do
      local x, w, b = r(2, 4, 9, 8):to(dt[1]), r(6, 2, 3, 3):to(dt[1]), r(6):to(dt[1])
      check(function(x_, w_, b_) return F.conv2d(x_, w_, b_, {stride = {2, 1}, padding = 1, dilation = {1, 2}, groups = 2}) end,
        {x, w, b}, dt[2], "conv2d")
      check(function(x_, w_) return F.conv2d(x_:transpose(3, 4), w_) end, {r(2, 2, 7, 9):to(dt[1]), r(3, 2, 2, 2):to(dt[1])}, dt[2],
        "conv2d transposed input")
      check(function(x_, w_, b_) return F.conv1d(x_, w_, b_, {stride = 2, padding = 2}) end,
        {r(3, 4, 11):to(dt[1]), r(5, 4, 3):to(dt[1]), r(5):to(dt[1])}, dt[2], "conv1d")
      check(function(x_, w_, b_) return F.conv_transpose2d(x_, w_, b_, {stride = 2, padding = 1, output_padding = 1, groups = 2}) end,
        {r(2, 4, 5, 4):to(dt[1]), r(4, 3, 3, 3):to(dt[1]), r(6):to(dt[1])}, dt[2], "conv_transpose2d")
    end
  end)

  it("max_pool2d (values, indices), avg_pool2d, adaptive pools, max_pool1d", function()
    for _, dt in ipairs(dts) do
      local x = r(2, 3, 9, 10):to(dt[1])
      check(function(t) return F.max_pool2d(t, 3, {stride = 2, padding = 1, ceil_mode = true}) end, {x}, dt[2], "max_pool2d")
      local _, ic = F.max_pool2d(x, 2, {return_indices = true})
      local _, ig = F.max_pool2d(x:cuda(), 2, {return_indices = true})
      assert.is_true(torch.equal(ig:cpu(), ic))
      check(function(t) return F.avg_pool2d(t, 3, {stride = 2, padding = 1, count_include_pad = false}) end, {x}, dt[2], "avg_pool2d")
      check(function(t) return F.avg_pool2d(t, {2, 3}, {ceil_mode = true, divisor_override = 5}) end, {x}, dt[2], "avg_pool2d divisor")
      check(function(t) return F.adaptive_avg_pool2d(t, {4, 3}) end, {x}, dt[2], "adaptive_avg_pool2d")
      check(function(t) return nn.MaxPool1d(3, 2)(t) end, {r(2, 3, 11):to(dt[1])}, dt[2], "max_pool1d")
    end
  end)

  it("batch_norm (training updates the running stats, eval), layer_norm, group_norm", function()
    for _, dt in ipairs(dts) do
      local x, w, b = r(4, 3, 5, 5):to(dt[1]), r(3):to(dt[1]), r(3):to(dt[1])
      local rm_c, rv_c = torch.zeros(3, {dtype = dt[1]}), torch.ones(3, {dtype = dt[1]})
      local rm_g, rv_g = rm_c:cuda(), rv_c:cuda()
      local k = 0
      check(function(x_, w_, b_)
        k = k + 1
        local rm, rv = k == 1 and rm_c or rm_g, k == 1 and rv_c or rv_g
        return F.batch_norm(x_, rm, rv, {weight = w_, bias = b_, training = true, momentum = 0.2})
      end, {x, w, b}, dt[2], "batch_norm training")
      close(rm_g, rm_c, dt[2], "running_mean")
      close(rv_g, rv_c, dt[2], "running_var")
      check(function(x_) return F.batch_norm(x_, x_.device == "cpu" and rm_c or rm_g, x_.device == "cpu" and rv_c or rv_g) end,
        {x}, dt[2], "batch_norm eval")
      check(function(x_, w_, b_) return F.layer_norm(x_, {5, 5}, {weight = w_, bias = b_}) end,
        {x, r(5, 5):to(dt[1]), r(5, 5):to(dt[1])}, dt[2], "layer_norm")
      check(function(x_, w_, b_) return F.group_norm(x_, 3, {weight = w_, bias = b_}) end,
        {r(2, 6, 4):to(dt[1]), r(6):to(dt[1]), r(6):to(dt[1])}, dt[2], "group_norm")
    end
  end)

  it("cross_entropy and nll_loss (weights, ignore_index, label smoothing), pointwise losses", function()
    for _, dt in ipairs(dts) do
      local x, t = r(6, 5):to(dt[1]), torch.tensor({1, 5, 3, 2, 2, 4}, {dtype = torch.int64})
      local w = torch.rand(5, {dtype = dt[1]})
      for _, red in ipairs({"mean", "sum", "none"}) do
        check(function(x_, w_, t_) return F.cross_entropy(x_, t_, {weight = w_, ignore_index = 2, reduction = red, label_smoothing = 0.1}) end,
          {x, w, t}, dt[2], "cross_entropy " .. red)
        check(function(x_, t_) return F.nll_loss(F.log_softmax(x_, 2), t_, {reduction = red}) end, {x, t}, dt[2], "nll_loss " .. red)
      end
      check(function(x_, y_) return F.mse_loss(x_, y_) end, {x, r(6, 5):to(dt[1])}, dt[2], "mse_loss")
      -- an out-of-range class is the CPU's clear error, not a device assert
      local ok, err = pcall(F.cross_entropy, x:cuda(), torch.tensor({1, 9, 1, 1, 1, 1}, {dtype = torch.int64}):cuda())
      assert.is_false(ok)
      assert.truthy(tostring(err):find("cross_entropy", 1, true))
    end
  end)

  -- issue 9, second part: norms and losses run on the device (cuda/nn_norm.cu, nn_loss.cu),
  -- no host round trip; sizes above one block's 256 threads exercise the block reductions.
  local function on_cuda(t) return tostring(t.device):find("cuda", 1, true) ~= nil end

  it("batch_norm on the device: 2-d and 3-d inputs, no affine, channels larger than a block, eval with affine", function()
    for _, dt in ipairs(dts) do
      for _, shp in ipairs({{16, 5}, {3, 4, 700}, {2, 3, 17, 19}}) do
        local C = shp[2]
        local rm_c, rv_c = torch.randn(C, {dtype = dt[1]}), torch.rand(C, {dtype = dt[1]}) + 0.5
        local rm_g, rv_g = rm_c:cuda(), rv_c:cuda()
        local x = r(table.unpack(shp)):to(dt[1]) * 3 + 1
        check(function(x_)
          local g = on_cuda(x_)
          return F.batch_norm(x_, g and rm_g or rm_c, g and rv_g or rv_c, {training = true, momentum = 0.3})
        end, {x}, dt[2], "batch_norm training " .. #shp .. "-d")
        close(rm_g, rm_c, dt[2], "running_mean (momentum 0.3)")
        close(rv_g, rv_c, dt[2], "running_var (unbiased)")
        check(function(x_, w_, b_)
          local g = on_cuda(x_)
          local y = F.batch_norm(x_, g and rm_g or rm_c, g and rv_g or rv_c, {weight = w_, bias = b_})
          if g then assert.is_true(on_cuda(y)) end
          return y
        end, {x, r(C):to(dt[1]), r(C):to(dt[1])}, dt[2], "batch_norm eval " .. #shp .. "-d")
      end
    end
  end)

  it("layer_norm and group_norm on the device: rows longer than a block, no affine", function()
    for _, dt in ipairs(dts) do
      check(function(x_) return F.layer_norm(x_, {1000}) end, {r(3, 1000):to(dt[1]) * 2 + 1}, dt[2], "layer_norm K=1000")
      check(function(x_, w_, b_) return F.layer_norm(x_, {3, 7}, {weight = w_, bias = b_}) end,
        {r(2, 5, 3, 7):to(dt[1]), r(3, 7):to(dt[1]), r(3, 7):to(dt[1])}, dt[2], "layer_norm 2 dims")
      check(function(x_, w_, b_) return F.group_norm(x_, 4, {weight = w_, bias = b_}) end,
        {r(3, 8, 300):to(dt[1]), r(8):to(dt[1]), r(8):to(dt[1])}, dt[2], "group_norm 4 groups x 600")
      check(function(x_) return F.group_norm(x_, 1) end, {r(2, 3, 5, 5):to(dt[1])}, dt[2], "group_norm 1 group")
    end
  end)

  it("cross_entropy and nll_loss on the device: spatial targets, probabilities, every option; the CPU's errors", function()
    for _, dt in ipairs(dts) do
      local x = r(4, 6, 3, 5):to(dt[1])
      local t = torch.randint(1, 7, {4, 3, 5}, {dtype = torch.int64})
      t[1][2][3] = 4
      local w = torch.rand(6, {dtype = dt[1]}) + 0.1
      for _, red in ipairs({"mean", "sum", "none"}) do
        check(function(x_, w_, t_) return F.cross_entropy(x_, t_, {weight = w_, ignore_index = 4, reduction = red, label_smoothing = 0.2}) end,
          {x, w, t}, dt[2], "cross_entropy spatial " .. red)
        check(function(x_, w_, t_) return F.nll_loss(x_, t_, {weight = w_, ignore_index = 4, reduction = red}) end,
          {x, w, t}, dt[2], "nll_loss spatial " .. red)
        check(function(x_, p_) return F.cross_entropy(x_, p_, {reduction = red, label_smoothing = 0.1}) end,
          {r(5, 7):to(dt[1]), torch.softmax(r(5, 7), 2):to(dt[1])}, dt[2], "cross_entropy probabilities " .. red)
      end
      check(function(x_, t_) return F.cross_entropy(x_, t_) end, {r(6):to(dt[1]), torch.tensor(3, {dtype = torch.int64})}, dt[2],
        "cross_entropy 1-d input")
      local y = F.cross_entropy(x:cuda(), t:cuda())
      assert.is_true(on_cuda(y))
      for _, bad in ipairs({{{2, 0, 1}, "cross_entropy"}, {{2, 3, 8}, "nll_loss"}}) do
        local xb, tb = r(3, 7):to(dt[1]), torch.tensor(bad[1], {dtype = torch.int64})
        local okc, errc = pcall(F[bad[2]], xb, tb)
        local okg, errg = pcall(F[bad[2]], xb:cuda(), tb:cuda())
        assert.is_false(okc)
        assert.is_false(okg)
        assert.are.equal(tostring(errc), tostring(errg)) -- same message: "target N is out of range ..."
      end
    end
  end)

  it("pointwise losses on the device, forward and backward, every reduction; bce's range error", function()
    for _, dt in ipairs(dts) do
      local x, y = r(4, 9):to(dt[1]), r(4, 9):to(dt[1])
      local p, q = torch.rand(4, 9, {dtype = dt[1]}) * 0.98 + 0.01, torch.rand(4, 9, {dtype = dt[1]})
      for _, red in ipairs({"mean", "sum", "none"}) do
        local o = {reduction = red}
        check(function(a, b) return F.mse_loss(a, b, o) end, {x, y}, dt[2], "mse " .. red)
        check(function(a, b) return F.l1_loss(a, b, o) end, {x, y}, dt[2], "l1 " .. red)
        check(function(a, b) return F.smooth_l1_loss(a, b, {reduction = red, beta = 0.7}) end, {x, y}, dt[2], "smooth_l1 " .. red)
        check(function(a, b) return F.huber_loss(a, b, {reduction = red, delta = 0.5}) end, {x, y}, dt[2], "huber " .. red)
        check(function(a, b) return F.kl_div(a, b, o) end, {torch.log(p), q}, dt[2], "kl_div " .. red)
        check(function(a, b) return F.kl_div(a, b, {reduction = red, log_target = true}) end, {x, y}, dt[2], "kl_div log_target " .. red)
        -- (bce has no derivative for its target: the target is captured, not an input)
        check(function(a, w_) return F.binary_cross_entropy(a, on_cuda(a) and q:cuda() or q, {weight = w_, reduction = red}) end,
          {p, torch.rand(9, {dtype = dt[1]})}, dt[2], "bce " .. red)
        check(function(a, b, w_, pw_) return F.binary_cross_entropy_with_logits(a, b, {weight = w_, pos_weight = pw_, reduction = red}) end,
          {x, q, torch.rand(4, 1, {dtype = dt[1]}), torch.rand(9, {dtype = dt[1]}) + 0.5}, dt[2], "bce_with_logits " .. red)
      end
      assert.is_true(on_cuda(F.mse_loss(x:cuda(), y:cuda())))
      local bad = torch.tensor({0.5, 1.25, -1}, {dtype = dt[1]})
      local okc, errc = pcall(F.binary_cross_entropy, bad, torch.ones(3, {dtype = dt[1]}))
      local okg, errg = pcall(F.binary_cross_entropy, bad:cuda(), torch.ones(3, {dtype = dt[1]}):cuda())
      assert.is_false(okc)
      assert.is_false(okg)
      assert.are.equal(tostring(errc), tostring(errg)) -- "... got 1.25", the first bad element
    end
  end)

  it("activations, embedding, pad", function()
    for _, dt in ipairs(dts) do
      local x = (r(4, 7) * 3):to(dt[1])
      check(function(t) return F.gelu(t) end, {x}, dt[2], "gelu")
      check(function(t) return F.gelu(t, {approximate = "tanh"}) end, {x}, dt[2], "gelu tanh")
      check(function(t) return F.silu(t) end, {x}, dt[2], "silu")
      check(function(t) return F.leaky_relu(t, 0.2) end, {x}, dt[2], "leaky_relu")
      check(function(t) return nn.ELU()(t) end, {x}, dt[2], "elu")
      check(function(t) return nn.Softplus()(t) end, {x}, dt[2], "softplus")
      check(function(t) return nn.Hardtanh(-1, 2)(t) end, {x}, dt[2], "hardtanh")
      check(function(t) return nn.ReLU6()(t) end, {x}, dt[2], "relu6")
      local idx = torch.tensor({{1, 3, 3}, {10, 2, 3}}, {dtype = torch.int64})
      check(function(w_, i_) return F.embedding(i_, w_, {padding_idx = 2}) end, {r(10, 4):to(dt[1]), idx}, dt[2], "embedding")
      local ok, err = pcall(F.embedding, torch.tensor({11}, {dtype = torch.int64}):cuda(), r(10, 4):cuda())
      assert.is_false(ok)
      assert.truthy(tostring(err):find("out of range", 1, true))
      check(function(t) return F.pad(t, {1, 2, 2, 0}, {mode = "reflect"}) end, {r(2, 3, 4, 5):to(dt[1])}, dt[2], "pad reflect")
    end
  end)

  -- issue 9, third part: pad, one_hot, the adaptive pools and max_pool1d run on the device
  -- (cuda/nn_pad.cu, nn_adaptive.cu, nn_pool.cu), no host round trip. pad's and the adaptive
  -- pools' backwards are gathers that make the CPU scatter's additions in its order, so their
  -- results are expected to equal the CPU's bit for bit and to repeat exactly.
  local function same_err(f, ...)
    local args = table.pack(...)
    local cargs = {}
    for i = 1, args.n do cargs[i] = torch.is_tensor(args[i]) and args[i]:cpu() or args[i] end
    local okc, errc = pcall(f, table.unpack(cargs, 1, args.n))
    local okg, errg = pcall(f, table.unpack(args, 1, args.n))
    assert.is_false(okc)
    assert.is_false(okg)
    assert.are.equal(tostring(errc), tostring(errg))
  end
  -- y = fn(x) and x's gradient for gy, on the CPU and on CUDA: both must be equal (bitwise)
  local function exact(fn, x, what)
    local out = {}
    for _, d in ipairs({"cpu", dev}) do
      local xd = x:to(d):detach()
      xd.requires_grad = true
      local y = fn(xd)
      if d == dev then assert.is_true(on_cuda(y), what .. ": result on cuda") end
      torch.manual_seed(31)
      local gy = torch.randn(y.shape, {dtype = y.dtype}):to(d)
      y:backward(gy)
      out[d] = {y:detach():cpu(), xd.grad:cpu()}
      if d == dev then -- the gather repeats exactly
        local x2 = x:to(d):detach()
        x2.requires_grad = true
        fn(x2):backward(gy)
        assert.is_true(torch.equal(x2.grad:cpu(), out[d][2]), what .. ": deterministic backward")
      end
    end
    local yc, yg = out.cpu[1], out[dev][1]
    assert.is_true(torch.equal(yc:isnan(), yg:isnan()) and torch.equal(yc:masked_fill(yc:isnan(), 0), yg:masked_fill(yg:isnan(), 0)),
      what .. ": forward equals the CPU's")
    assert.is_true(torch.equal(out.cpu[2], out[dev][2]), what .. ": backward equals the CPU's")
  end

  it("pad on the device: every mode (circular too), cropping, size-1 dims, non-contiguous input, backward; the CPU's errors", function()
    for _, dt in ipairs(dts) do
      local cases = {
        {{2, 3, 4, 5}, {3, 2, 1, 3}, "reflect"}, {{7, 3}, {6, 6}, "reflect"},
        {{2, 3, 4, 5}, {2, 3, 0, 4, 1, 1}, "replicate"}, {{1, 3, 4}, {1, 1, 2, 3}, "replicate"},
        {{2, 3, 4, 5}, {-1, 2, 3, -2}, "constant", 0.5}, {{4, 600}, {300, 2}, "constant"},
        {{2, 3, 4, 5}, {5, 4, 0, 4, 1, 2}, "circular"}, {{5, 1, 3}, {3, 1}, "circular"},
      }
      for _, c in ipairs(cases) do
        local x = r(table.unpack(c[1])):to(dt[1])
        local what = "pad " .. c[3] .. " " .. table.concat(c[2], ",")
        -- (transposed: a non-contiguous input of the first two dims swapped)
        check(function(t) return F.pad(t:transpose(1, 2), c[2], {mode = c[3], value = c[4]}) end, {x}, dt[2], what)
        exact(function(t) return F.pad(t:transpose(1, 2), c[2], {mode = c[3], value = c[4]}) end, x, what)
      end
      local xi = torch.randint(-5, 5, {3, 4}, {dtype = torch.int64})
      assert.is_true(torch.equal(F.pad(xi:cuda(), {1, 2}, "reflect"):cpu(), F.pad(xi, {1, 2}, "reflect")))
      same_err(F.pad, r(2, 3):to(dt[1]):cuda(), {3, 0}, "reflect")
      same_err(F.pad, r(2, 3):to(dt[1]):cuda(), {1, 1, 1, 1, 1, 1}, "replicate")
      same_err(F.pad, r(2, 3):to(dt[1]):cuda(), {0, 4}, "circular")
    end
  end)

  it("one_hot on the device: non-contiguous indices, inferred and given classes, the CPU's errors", function()
    local idx = torch.randint(1, 8, {5, 9})
    for _, t in ipairs({idx, idx:t(), idx[{{}, 3}]}) do
      assert.is_true(torch.equal(F.one_hot(t:cuda()):cpu(), F.one_hot(t)))
      assert.is_true(torch.equal(F.one_hot(t:cuda(), 12):cpu(), F.one_hot(t, 12)))
      assert.is_true(on_cuda(F.one_hot(t:cuda())))
    end
    same_err(F.one_hot, torch.tensor({3, 9, 2}):cuda(), 5)                  -- "class value 9 is out of range ..."
    same_err(torch._nn.one_hot, torch.tensor({{2, -3}, {-1, 9}}):cuda())    -- the first negative, as on the CPU
    same_err(torch._nn.one_hot, torch.zeros(0, {dtype = torch.int64}):cuda()) -- cannot infer from an empty tensor
    assert.are.same({0, 4}, {table.unpack(F.one_hot(torch.zeros(0, {dtype = torch.int64}):cuda(), 4).shape)})
  end)

  it("adaptive_avg_pool2d and adaptive_max_pool2d on the device: overlapping windows, NaN, backward", function()
    for _, dt in ipairs(dts) do
      local x = r(2, 3, 13, 9):to(dt[1])
      local xn = x:clone()
      xn[1][2][5][4] = 0 / 0
      for _, os in ipairs({{4, 5}, {13, 9}, {1, 1}, {20, 11}, {3, 9}}) do
        local what = os[1] .. "x" .. os[2] .. " " .. tostring(dt[1])
        check(function(t) return F.adaptive_avg_pool2d(t:transpose(3, 4), {os[2], os[1]}) end, {x}, dt[2], "adaptive_avg " .. what)
        exact(function(t) return F.adaptive_avg_pool2d(t:transpose(3, 4), {os[2], os[1]}) end, x, "adaptive_avg " .. what)
        check(function(t) return F.adaptive_max_pool2d(t, os) end, {x}, dt[2], "adaptive_max " .. what)
        exact(function(t) return F.adaptive_max_pool2d(t:transpose(3, 4), {os[2], os[1]}) end, x, "adaptive_max " .. what)
        exact(function(t) return F.adaptive_max_pool2d(t, os) end, xn, "adaptive_max NaN " .. what)
        local _, ic = F.adaptive_max_pool2d(xn, os, {return_indices = true})
        local _, ig = F.adaptive_max_pool2d(xn:cuda(), os, {return_indices = true})
        assert.is_true(torch.equal(ig:cpu(), ic), "adaptive_max indices " .. what)
      end
      check(function(t) return nn.AdaptiveAvgPool2d({2, 3})(t) end, {r(3, 7, 8):to(dt[1])}, dt[2], "AdaptiveAvgPool2d unbatched")
      same_err(F.adaptive_avg_pool2d, r(2, 3):to(dt[1]):cuda(), 2)
    end
  end)

  it("max_pool1d on the device: padding, dilation, ceil_mode, non-contiguous input, indices, backward", function()
    for _, dt in ipairs(dts) do
      local x = r(2, 3, 17):to(dt[1])
      for _, o in ipairs({{3, {stride = 2}}, {4, {stride = 3, padding = 2, dilation = 2, ceil_mode = true}}, {2, {ceil_mode = false}}}) do
        check(function(t) return F.max_pool1d(t:transpose(1, 2):contiguous():transpose(1, 2), o[1], o[2]) end, {x}, dt[2],
          "max_pool1d k=" .. o[1])
        local oi = {return_indices = true}
        for k, v in pairs(o[2]) do oi[k] = v end
        local _, ic = F.max_pool1d(x, o[1], oi)
        local _, ig = F.max_pool1d(x:cuda(), o[1], oi)
        assert.is_true(torch.equal(ig:cpu(), ic), "max_pool1d indices k=" .. o[1])
      end
      check(function(t) return nn.MaxPool1d(3)(t) end, {r(4, 10):to(dt[1])}, dt[2], "MaxPool1d unbatched")
      same_err(F.max_pool1d, r(2, 3, 4):to(dt[1]):cuda(), 3, {padding = 2})
    end
  end)

  it("dropout draws the CPU's mask for the same seed (Philox)", function()
    for _, dt in ipairs(dts) do
      local x = torch.ones(64, 33, {dtype = dt[1]})
      torch.manual_seed(5)
      local yc = F.dropout(x, 0.3)
      torch.manual_seed(5)
      local yg = F.dropout(x:cuda(), 0.3)
      assert.is_true(torch.equal(yg:cpu(), yc))
      torch.manual_seed(6)
      local zc = F.dropout2d(torch.ones(4, 8, 3, 3, {dtype = dt[1]}), 0.5)
      torch.manual_seed(6)
      local zg = F.dropout2d(torch.ones(4, 8, 3, 3, {dtype = dt[1]}):cuda(), 0.5)
      assert.is_true(torch.equal(zg:cpu(), zc))
    end
  end)

  it("one step of every optimizer matches the CPU", function()
    local cases = {
      {"SGD", {lr = 0.1}}, {"SGD", {lr = 0.1, momentum = 0.9, nesterov = true, weight_decay = 0.01}},
      {"SGD", {lr = 0.1, momentum = 0.9, dampening = 0.1, maximize = true}},
      {"Adam", {lr = 0.01}}, {"Adam", {lr = 0.01, amsgrad = true, weight_decay = 0.1}}, {"AdamW", {lr = 0.01}},
      {"RMSprop", {lr = 0.01}}, {"RMSprop", {lr = 0.01, centered = true, momentum = 0.5, weight_decay = 0.1}},
      {"Adagrad", {lr = 0.1, lr_decay = 0.01}}, {"Adadelta", {lr = 1.0, weight_decay = 0.1}},
    }
    for _, dt in ipairs(dts) do
      for _, c in ipairs(cases) do
        local p0, g0 = r(5, 4):to(dt[1]), r(5, 4):to(dt[1])
        local out = {}
        for _, d in ipairs({"cpu", dev}) do
          local p = p0:to(d):detach()
          p.requires_grad = true
          local opt = optim[c[1]]({p}, c[2])
          for step = 1, 3 do
            p.grad = (g0 * step):to(d)
            opt:step()
          end
          out[d] = p:detach()
        end
        close(out[dev], out.cpu, dt[2] / 10, c[1] .. " " .. tostring(dt[1]))
      end
    end
  end)

  it("trains a small conv net on CUDA: loss and parameters match the CPU", function()
    local function net()
      torch.manual_seed(3)
      return nn.Sequential(nn.Conv2d(1, 4, 3, {padding = 1}), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 4, 10)):double()
    end
    torch.manual_seed(4)
    local x, y = torch.randn(8, 1, 8, 8, {dtype = torch.float64}), torch.randint(1, 11, {8})
    local losses = {}
    for _, d in ipairs({"cpu", dev}) do
      local m = net():to(d)
      local opt = optim.SGD(m:parameters(), {lr = 0.1, momentum = 0.9})
      local xd, yd = x:to(d), y:to(d)
      for _ = 1, 3 do
        opt:zero_grad()
        local loss = F.cross_entropy(m(xd), yd)
        loss:backward()
        opt:step()
        losses[d] = loss:item()
      end
    end
    assert.is_true(math.abs(losses.cpu - losses[dev]) < 1e-9, losses.cpu .. " vs " .. losses[dev])
  end)

  it("DataLoader batches move to the device with :to", function()
    local ds = data.TensorDataset(torch.randn(10, 3), torch.arange(1, 11))
    local dl = data.DataLoader(ds, {batch_size = 4, pin_memory = true})
    for _, xb, yb in dl:iter() do
      local xg, yg = xb:to(dev), yb:to(dev)
      assert.are.equal("cuda:0", xg.device)
      assert.is_true(torch.equal(xg:cpu(), xb))
      assert.is_true(torch.equal(yg:cpu(), yb))
    end
  end)
end)
