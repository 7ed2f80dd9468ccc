-- nn kernels (torch._nn, nn/*.c) against PyTorch 1.13 fixtures (spec/fixtures/gen_nn_kernels.py):
-- forward outputs and backward gradients, float64 (tight) and float32 (loose), error messages.
local F = dofile("spec/fixtures/nn_kernels.lua")
local N = torch._nn

local function T(f, dt)
  if f == nil then return nil end
  local t = torch.tensor(#f.data == 0 and {} or f.data, { dtype = f.dtype or dt or "float64" })
  return t:reshape(f.shape)
end

-- float64: 1e-10 relative+absolute; float32: 1e-5 relative (plus 1e-5 absolute)
local function close(got, f, dt, what)
  assert(got ~= nil, (what or "") .. ": got nil")
  local tol = dt == "float32" and 1e-5 or 1e-10
  assert.are.same(f.shape, { table.unpack(got.shape) }, (what or "") .. ": shape")
  local v = torch._flat_values(got)
  for i, e in ipairs(f.data) do
    local g = v[i]
    if e ~= e then
      assert(g ~= g, what .. ": expected nan at " .. i)
    else
      local err = math.abs(g - e)
      if err > tol * (1 + math.abs(e)) then
        error(string.format("%s: element %d is %.17g, expected %.17g (dtype %s)", what or "?", i, g, e, dt))
      end
    end
  end
end

local function ints(got, f, what)
  assert.are.same(f.shape, { table.unpack(got.shape) }, what)
  assert.are.same(f.data, torch._flat_values(got), what)
end

local dtypes = { "float64", "float32" }

describe("torch._nn convolution", function()
  for _, dt in ipairs(dtypes) do
    it("conv2d forward and backward (" .. dt .. ")", function()
      for k, c in ipairs(F.conv2d) do
        local x, w, b = T(c.x, dt), T(c.w, dt), T(c.b, dt)
        local y = N.conv2d(x, w, b, c.stride, c.padding, c.dilation, c.groups)
        close(y, c.y, dt, "conv2d case " .. k)
        local gx, gw, gb = N.conv2d_backward(T(c.gy, dt), x, w, c.stride, c.padding, c.dilation, c.groups)
        close(gx, c.gx, dt, "conv2d gx " .. k)
        close(gw, c.gw, dt, "conv2d gw " .. k)
        if c.gb then close(gb, c.gb, dt, "conv2d gb " .. k) end
      end
    end)
    it("conv1d and conv_transpose2d (" .. dt .. ")", function()
      for k, c in ipairs(F.conv1d) do
        local x, w, b = T(c.x, dt), T(c.w, dt), T(c.b, dt)
        close(N.conv1d(x, w, b, c.stride, c.padding, c.dilation, c.groups), c.y, dt, "conv1d " .. k)
        local gx, gw, gb = N.conv1d_backward(T(c.gy, dt), x, w, c.stride, c.padding, c.dilation, c.groups)
        close(gx, c.gx, dt, "conv1d gx " .. k); close(gw, c.gw, dt, "conv1d gw " .. k); close(gb, c.gb, dt, "conv1d gb " .. k)
      end
      for k, c in ipairs(F.conv_transpose2d) do
        local x, w, b = T(c.x, dt), T(c.w, dt), T(c.b, dt)
        local y = N.conv_transpose2d(x, w, b, c.stride, c.padding, c.output_padding, c.groups, c.dilation)
        close(y, c.y, dt, "conv_transpose2d " .. k)
        local gx, gw, gb = N.conv_transpose2d_backward(T(c.gy, dt), x, w, c.stride, c.padding, c.output_padding,
          c.groups, c.dilation)
        close(gx, c.gx, dt, "convT gx " .. k); close(gw, c.gw, dt, "convT gw " .. k)
        if c.gb then close(gb, c.gb, dt, "convT gb " .. k) end
      end
    end)
  end
  it("accepts non-contiguous input", function()
    local c = F.conv2d[1]
    local x = T(c.x):transpose(3, 4):contiguous():transpose(3, 4) -- same values, transposed strides
    assert.is_false(x:is_contiguous())
    close(N.conv2d(x, T(c.w), T(c.b), c.stride, c.padding, c.dilation, c.groups), c.y, "float64", "noncontig")
  end)
  it("reports shape errors naming the op", function()
    local w = torch.randn(6, 3, 5, 5)
    assert.has_error(function() N.conv2d(torch.randn(3, 32, 32), w) end,
      "conv2d: expected input with 4 dims (N, C, H, W), got [3, 32, 32]")
    assert.has_error(function() N.conv2d(torch.randn(1, 4, 32, 32), w) end,
      "conv2d: input has 4 channels but weight expects 3 (weight [6, 3, 5, 5], groups 1)")
    assert.has_error(function() N.conv2d(torch.randn(1, 3, 4, 4), w) end,
      "conv2d: kernel size (dilated) 5x5 is larger than the padded input 4x4 (input [1, 3, 4, 4])")
    assert.has_error(function() N.conv2d(torch.randn(1, 3, 8, 8), w, torch.randn(5)) end,
      "conv2d: expected bias of shape [6], got [5]")
    assert.has_error(function() N.conv2d(torch.randn(1, 3, 8, 8), w, nil, 0) end,
      "conv2d: stride must be positive, got 0")
    assert.has_error(function() N.conv2d(torch.randn(1, 3, 8, 8, { dtype = "float64" }), w) end,
      "conv2d: expected weight to have dtype float64 (as input), got float32")
  end)
end)

describe("torch._nn pooling", function()
  for _, dt in ipairs(dtypes) do
    it("max_pool2d / max_pool1d values, indices and backward (" .. dt .. ")", function()
      for k, c in ipairs(F.max_pool2d) do
        local x = T(c.x, dt)
        local y, idx = N.max_pool2d(x, c.kernel, c.stride, c.padding, c.dilation, c.ceil_mode)
        close(y, c.y, dt, "max_pool2d " .. k); ints(idx, c.idx, "max_pool2d idx " .. k)
        close(N.max_pool2d_backward(T(c.gy, dt), x, idx), c.gx, dt, "max_pool2d gx " .. k)
      end
      for k, c in ipairs(F.max_pool1d) do
        local x = T(c.x, dt)
        local y, idx = N.max_pool1d(x, c.kernel, c.stride, c.padding, c.dilation, c.ceil_mode)
        close(y, c.y, dt, "max_pool1d " .. k); ints(idx, c.idx, "max_pool1d idx " .. k)
        close(N.max_pool1d_backward(T(c.gy, dt), x, idx), c.gx, dt, "max_pool1d gx " .. k)
      end
    end)
    it("avg_pool2d and adaptive pools (" .. dt .. ")", function()
      for k, c in ipairs(F.avg_pool2d) do
        local x = T(c.x, dt)
        local args = { c.kernel, c.stride, c.padding, c.ceil_mode, c.count_include_pad, c.divisor_override }
        close(N.avg_pool2d(x, table.unpack(args, 1, 6)), c.y, dt, "avg_pool2d " .. k)
        close(N.avg_pool2d_backward(T(c.gy, dt), x, table.unpack(args, 1, 6)), c.gx, dt, "avg_pool2d gx " .. k)
      end
      for k, c in ipairs(F.adaptive_pool2d) do
        local x = T(c.x, dt)
        close(N.adaptive_avg_pool2d(x, c.out), c.y, dt, "adaptive_avg " .. k)
        close(N.adaptive_avg_pool2d_backward(T(c.gy, dt), x), c.gx, dt, "adaptive_avg gx " .. k)
        local y, idx = N.adaptive_max_pool2d(x, c.out)
        close(y, c.ymax, dt, "adaptive_max " .. k); ints(idx, c.idx, "adaptive_max idx " .. k)
        close(N.max_pool2d_backward(T(c.gymax, dt), x, idx), c.gxmax, dt, "adaptive_max gx " .. k)
      end
    end)
  end
  it("reports errors", function()
    assert.has_error(function() N.max_pool2d(torch.randn(1, 1, 4, 4), 3, 1, 2) end,
      "max_pool2d: pad should be at most half of kernel size, but got pad=2 and kernel_size=3")
    assert.has_error(function() N.max_pool2d(torch.randn(4, 4), 2) end,
      "max_pool2d: expected input with 3 or 4 dims ((N,) C, H, W), got [4, 4]")
    assert.has_error(function() N.avg_pool2d(torch.randn(1, 1, 2, 2), 3) end,
      "avg_pool2d: input [1, 1, 2, 2] is too small for kernel 3x3 (output size 0x0)")
  end)
end)

describe("torch._nn normalisation", function()
  for _, dt in ipairs(dtypes) do
    it("batch_norm training/eval with running stats (" .. dt .. ")", function()
      for k, c in ipairs(F.batch_norm) do
        local x, w, b, rm, rv = T(c.x, dt), T(c.w, dt), T(c.b, dt), T(c.rm, dt), T(c.rv, dt)
        local y, m, is = N.batch_norm(x, rm, rv, w, b, c.training, c.momentum, 1e-5)
        close(y, c.y, dt, "batch_norm " .. k)
        close(rm, c.rm_after, dt, "running_mean " .. k); close(rv, c.rv_after, dt, "running_var " .. k)
        local gx, gw, gb = N.batch_norm_backward(T(c.gy, dt), x, w, m, is, c.training)
        close(gx, c.gx, dt, "batch_norm gx " .. k)
        if c.gw then close(gw, c.gw, dt, "bn gw " .. k); close(gb, c.gb, dt, "bn gb " .. k) end
      end
    end)
    it("layer_norm and group_norm (" .. dt .. ")", function()
      for k, c in ipairs(F.layer_norm) do
        local x, w, b = T(c.x, dt), T(c.w, dt), T(c.b, dt)
        local y, m, r = N.layer_norm(x, c.ns, w, b, 1e-5)
        close(y, c.y, dt, "layer_norm " .. k)
        local gx, gw, gb = N.layer_norm_backward(T(c.gy, dt), x, c.ns, w, m, r)
        close(gx, c.gx, dt, "ln gx " .. k)
        if c.gw then close(gw, c.gw, dt, "ln gw " .. k); close(gb, c.gb, dt, "ln gb " .. k) end
      end
      for k, c in ipairs(F.group_norm) do
        local x, w, b = T(c.x, dt), T(c.w, dt), T(c.b, dt)
        local y, m, r = N.group_norm(x, c.groups, w, b, 1e-5)
        close(y, c.y, dt, "group_norm " .. k)
        local gx, gw, gb = N.group_norm_backward(T(c.gy, dt), x, c.groups, w, m, r)
        close(gx, c.gx, dt, "gn gx " .. k)
        if c.gw then close(gw, c.gw, dt, "gn gw " .. k); close(gb, c.gb, dt, "gn gb " .. k) end
      end
    end)
  end
  it("reports errors", function()
    assert.has_error(function() N.batch_norm(torch.randn(1, 3), nil, nil, nil, nil, true) end,
      "batch_norm: expected more than 1 value per channel when training, got input size [1, 3]")
    assert.has_error(function() N.layer_norm(torch.randn(2, 4), { 3 }) end,
      "layer_norm: normalized_shape [3] does not match the last dims of input [2, 4]")
    assert.has_error(function() N.group_norm(torch.randn(2, 6), 4) end,
      "group_norm: expected the number of channels 6 to be divisible by num_groups 4 (input [2, 6])")
  end)
end)

describe("torch._nn losses", function()
  for _, dt in ipairs(dtypes) do
    it("cross_entropy and nll_loss (" .. dt .. ")", function()
      for k, c in ipairs(F.cross_entropy) do
        local x, t, w = T(c.x, dt), T(c.t, dt), T(c.w, dt)
        close(N.cross_entropy(x, t, w, c.ignore_index, c.reduction, c.label_smoothing), c.y, dt, "ce " .. k)
        close(N.cross_entropy_backward(T(c.gy, dt), x, t, w, c.ignore_index, c.reduction, c.label_smoothing), c.gx, dt,
          "ce gx " .. k)
      end
      for k, c in ipairs(F.nll_loss) do
        local x, t, w = T(c.x, dt), T(c.t), T(c.w, dt)
        close(N.nll_loss(x, t, w, c.ignore_index, c.reduction), c.y, dt, "nll " .. k)
        close(N.nll_loss_backward(T(c.gy, dt), x, t, w, c.ignore_index, c.reduction), c.gx, dt, "nll gx " .. k)
      end
    end)
    it("pointwise losses and bce (" .. dt .. ")", function()
      for k, c in ipairs(F.pointwise) do
        local x, t = T(c.x, dt), T(c.t, dt)
        local what = c.name .. " " .. c.reduction .. " " .. tostring(c.param)
        close(N[c.name](x, t, c.reduction, c.param), c.y, dt, what)
        close(N[c.name .. "_backward"](T(c.gy, dt), x, t, c.reduction, c.param), c.gx, dt, what .. " gx")
      end
      for k, c in ipairs(F.bce) do
        local x, t, w, p = T(c.x, dt), T(c.t, dt), T(c.w, dt), T(c.pos_weight, dt)
        if c.logits then
          close(N.binary_cross_entropy_with_logits(x, t, w, c.reduction, p), c.y, dt, "bcel " .. k)
          close(N.binary_cross_entropy_with_logits_backward(T(c.gy, dt), x, t, w, c.reduction, p), c.gx, dt, "bcel gx " .. k)
        else
          close(N.binary_cross_entropy(x, t, w, c.reduction), c.y, dt, "bce " .. k)
          close(N.binary_cross_entropy_backward(T(c.gy, dt), x, t, w, c.reduction), c.gx, dt, "bce gx " .. k)
        end
      end
    end)
  end
  it("reports out-of-range targets 1-based and shape errors", function()
    assert.has_error(function() N.cross_entropy(torch.randn(2, 10), torch.tensor({ 0, 10 })) end,
      "cross_entropy: target 11 is out of range for 10 classes (expected 1..10)")
    assert.has_error(function() N.nll_loss(torch.randn(2, 3), torch.tensor({ -1, 0 })) end,
      "nll_loss: target 0 is out of range for 3 classes (expected 1..3)")
    assert.has_error(function() N.mse_loss(torch.randn(2, 3), torch.randn(3, 2)) end,
      "mse_loss: target [3, 2] must have the same shape as input [2, 3]")
    assert.has_error(function() N.binary_cross_entropy(torch.tensor({ 1.5 }), torch.tensor({ 1.0 })) end,
      "binary_cross_entropy: all elements of input should be between 0 and 1, got 1.5")
    -- an ignored target may be out of range
    local l = N.cross_entropy(torch.randn(2, 3), torch.tensor({ -100, 1 }), nil, -100, "sum")
    assert.is_true(l:item() > 0)
  end)
end)

describe("torch._nn dropout, embedding, one_hot, pad, activations", function()
  it("dropout keeps or zeroes with the 1/(1-p) scale; backward uses the mask", function()
    torch.manual_seed(1)
    local x = torch.ones(1000, { dtype = "float64" })
    local y, m = N.dropout(x, 0.25, true)
    local kept = 0
    for _, v in ipairs(torch._flat_values(y)) do
      assert.is_true(v == 0 or math.abs(v - 1 / 0.75) < 1e-12)
      if v ~= 0 then kept = kept + 1 end
    end
    assert.is_true(kept > 680 and kept < 820)
    assert.are.same(torch._flat_values(y), torch._flat_values(N.dropout_backward(x, m)))
    local e, em = N.dropout(x, 0.5, false)
    assert.is_nil(em); assert.are.same(torch._flat_values(x), torch._flat_values(e))
    local z = N.dropout(x, 1, true)
    assert.are.equal(0, z:sum():item())
    local y2, m2 = N.dropout2d(torch.ones(4, 8, 3, 3), 0.5, true)
    assert.are.same({ 4, 8, 1, 1 }, { table.unpack(m2.shape) })
    for n = 1, 4 do for c = 1, 8 do
      local s = y2[n][c]:sum():item()
      assert.is_true(s == 0 or math.abs(s - 18) < 1e-5)
    end end
    assert.has_error(function() N.dropout(x, 1.5) end, "dropout: dropout probability has to be between 0 and 1, but got 1.5")
  end)
  for _, dt in ipairs(dtypes) do
    it("embedding, pad and activations (" .. dt .. ")", function()
      for k, c in ipairs(F.embedding) do
        local w, i = T(c.w, dt), T(c.idx)
        close(N.embedding(i, w), c.y, dt, "embedding " .. k)
        close(N.embedding_backward(T(c.gy, dt), i, c.w.shape[1], c.padding_idx), c.gw, dt, "embedding gw " .. k)
      end
      for k, c in ipairs(F.pad) do
        local x = T(c.x, dt)
        close(N.pad(x, c.pads, c.mode, c.value), c.y, dt, "pad " .. k)
        close(N.pad_backward(T(c.gy, dt), x, c.pads, c.mode), c.gx, dt, "pad gx " .. k)
      end
      for k, c in ipairs(F.activation) do
        local x = T(c.x, dt)
        close(N[c.name](x, table.unpack(c.args)), c.y, dt, c.name .. " " .. k)
        close(N[c.name .. "_backward"](T(c.gy, dt), x, table.unpack(c.args)), c.gx, dt, c.name .. " gx " .. k)
      end
    end)
  end
  it("one_hot and index errors", function()
    local o = N.one_hot(torch.tensor({ 0, 2, 1 }))
    assert.are.same({ 1, 0, 0, 0, 0, 1, 0, 1, 0 }, torch._flat_values(o))
    assert.are.equal("int64", o.dtype)
    assert.are.same({ 3, 5 }, { table.unpack(N.one_hot(torch.tensor({ 0, 2, 1 }), 5).shape) })
    assert.has_error(function() N.one_hot(torch.tensor({ 0, 5 }), 3) end,
      "one_hot: class value 6 is out of range for 3 classes (expected 1..3)")
    assert.has_error(function() N.embedding(torch.tensor({ 10 }), torch.randn(10, 2)) end,
      "embedding: index 11 is out of range for 10 rows (expected 1..10)")
    assert.has_error(function() N.pad(torch.randn(2, 3), { 3, 0 }, "reflect") end,
      "pad: padding (3, 0) should be less than the size 3 of dim 2 of input [2, 3] (reflect)")
  end)
end)

-- The CUDA kernels of pad, the adaptive pools and one_hot (cuda/nn_pad.cu, nn_adaptive.cu) are
-- gathers; the CPU's backwards are scatters. Each case is checked against a reference written
-- here as a plain scatter in the CPU's order, so the sums are the same additions in the same
-- order and must agree exactly. Under scripts/gpu/emulate_nn.sh these run the kernels' bodies
-- (the device paths); in the normal build they check the CPU loops.
describe("torch._nn pad / adaptive pools / one_hot backwards against reference scatters", function()
  local function vals(t) return torch._flat_values(t) end
  -- pad_backward by scattering gy through the forward's index map (an index tensor padded
  -- in the same mode, -1 where constant fills), in increasing output order, in float64
  local function pad_bwd_ref(gy, x, pads, mode)
    local n = x:numel()
    local ids = torch.arange(0, n, { dtype = torch.float64 }):reshape(x.shape)
    local src, g, acc = vals(N.pad(ids, pads, mode, -1)), vals(gy:double()), {}
    for i = 1, n do acc[i] = 0 end
    for o, s in ipairs(src) do
      if s >= 0 then acc[s + 1] = acc[s + 1] + g[o] end
    end
    return torch.tensor(acc, { dtype = torch.float64 }):reshape(x.shape):to(gy.dtype)
  end
  local function r(dt, ...) return torch.randn({ ... }, { dtype = dt }) end
  local function same(a, b) -- equal, NaN where the other is NaN
    return torch.equal(a:isnan(), b:isnan()) and torch.equal(a:masked_fill(a:isnan(), 0), b:masked_fill(b:isnan(), 0))
  end

  for _, dt in ipairs(dtypes) do
    it("pad forward and backward: every mode, cropping, size-1 dims, non-contiguous tensors (" .. dt .. ")", function()
      torch.manual_seed(21)
      local cases = {
        { r(dt, 2, 5, 4, 3):transpose(2, 4), { 3, 2, 1, 3 }, "reflect" },    -- x (2, 3, 4, 5), both mirrors
        { r(dt, 6), { 5, 5 }, "reflect" },
        { r(dt, 2, 3, 4, 5), { 2, 3, 0, 4, 1, 1 }, "replicate" },
        { r(dt, 3, 1, 4), { 1, 1, 2, 3 }, "replicate" },                   -- a size-1 dim takes all
        { r(dt, 2, 3, 4, 5), { -1, 2, 3, -2 }, "constant", 0.5 },          -- crop and pad
        { r(dt, 4, 5):t(), { 0, 0, -2, -1 }, "constant" },
        { r(dt, 2, 5, 4, 3):transpose(2, 4), { 5, 4, 0, 4, 1, 2 }, "circular" }, -- pads up to the size
        { r(dt, 3, 1, 2), { 2, 1, 1, 1 }, "circular" },
        { r(dt, 2, 3), {}, "reflect" },
      }
      for k, c in ipairs(cases) do
        local x, pads, mode, value = c[1], c[2], c[3], c[4]
        local y = N.pad(x, pads, mode, value)
        -- forward: the contiguous copy pads the same; backward: the reference scatter
        assert.is_true(torch.equal(y, N.pad(x:contiguous(), pads, mode, value)), "pad " .. k)
        local gy = r(dt, table.unpack(y.shape))
        if #y.shape >= 2 then -- a transposed gradient of the same shape
          local s = { table.unpack(y.shape) }
          s[#s], s[#s - 1] = s[#s - 1], s[#s]
          gy = r(dt, table.unpack(s)):transpose(#s - 1, #s)
        end
        local gx = N.pad_backward(gy, x, pads, mode)
        assert.are.equal(dt, gx.dtype)
        assert.is_true(torch.equal(gx, pad_bwd_ref(gy, x, pads, mode)), "pad_backward " .. k .. " (" .. mode .. ")")
      end
      -- integer inputs pad through float64, as on the CPU
      local xi = torch.tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
      assert.are.same({ 2, 1, 2, 3, 2, 5, 4, 5, 6, 5 }, vals(N.pad(xi, { 1, 1 }, "reflect")))
      assert.are.equal("int64", N.pad(xi, { 1, 1 }, "reflect").dtype)
      assert.are.same({ 7, 1, 2, 3, 7, 7, 7, 7 }, vals(N.pad(xi[{ { 1, 1 } }], { 1, 0, 0, 1 }, "constant", 7)))
      -- circular wraps once: rows (2, 1 | 1, 2) of the 2 x 3 input, columns (3 | 1, 2, 3 | 1, 2, 3)
      assert.are.same({ 6, 4, 5, 6, 4, 5, 6, 3, 1, 2, 3, 1, 2, 3, 6, 4, 5, 6, 4, 5, 6, 3, 1, 2, 3, 1, 2, 3 },
        vals(N.pad(xi, { 1, 3, 1, 1 }, "circular")))
      assert.has_error(function() N.pad(xi, { 4, 0 }, "circular") end,
        "pad: padding (4, 0) should be at most the size 3 of dim 2 of input [2, 3] (circular: one wrap)")
      assert.has_error(function() N.pad(xi, { -1, 0 }, "circular") end,
        "pad: negative padding is only supported in constant mode")
    end)

    it("adaptive_avg_pool2d / adaptive_max_pool2d: overlapping windows, outputs larger than inputs (" .. dt .. ")", function()
      torch.manual_seed(22)
      local x = r(dt, 2, 5, 7, 3):transpose(2, 4) -- (2, 3, 7, 5), non-contiguous
      local xn = x:clone()
      xn[1][2][3][4] = 0 / 0
      for _, os in ipairs({ { 3, 4 }, { 7, 5 }, { 1, 1 }, { 10, 9 }, { 2, 5 } }) do
        local what = os[1] .. "x" .. os[2]
        assert.is_true(same(N.adaptive_avg_pool2d(xn, os), N.adaptive_avg_pool2d(xn:contiguous(), os)), what)
        local gy = r(dt, 2, 3, os[1], os[2])
        -- reference: scatter gy / count over each window in (plane, oh, ow) order, float64
        local H, W, OH, OW = 7, 5, os[1], os[2]
        local g, acc = vals(gy:double()), {}
        for i = 1, 6 * H * W do acc[i] = 0 end
        for pl = 0, 5 do for oh = 0, OH - 1 do for ow = 0, OW - 1 do
          local h0, h1 = oh * H // OH, ((oh + 1) * H + OH - 1) // OH
          local w0, w1 = ow * W // OW, ((ow + 1) * W + OW - 1) // OW
          local v = g[(pl * OH + oh) * OW + ow + 1] / ((h1 - h0) * (w1 - w0))
          for h = h0, h1 - 1 do for w = w0, w1 - 1 do
            local k = pl * H * W + h * W + w + 1
            acc[k] = acc[k] + v
          end end
        end end end
        local ref = torch.tensor(acc, { dtype = torch.float64 }):reshape(x.shape):to(dt)
        assert.is_true(torch.equal(N.adaptive_avg_pool2d_backward(gy:transpose(3, 4):contiguous():transpose(3, 4), x), ref),
          "adaptive_avg gx " .. what)
        -- max: the NaN wins its windows; the backward through autograd (the adaptive kernel
        -- on the device) equals max_pool2d_backward's plain scatter of the same indices
        for _, xv in ipairs({ x, xn }) do
          local xm = xv:detach()
          xm.requires_grad = true
          local ym, idx = N.adaptive_max_pool2d(xm, os)
          ym:backward(gy)
          assert.is_true(torch.equal(xm.grad, N.max_pool2d_backward(gy, xv, idx)), "adaptive_max gx " .. what)
          local yc, ic = N.adaptive_max_pool2d(xv:contiguous(), os)
          assert.is_true(torch.equal(idx, ic), "adaptive_max idx " .. what)
          assert.is_true(same(ym:detach(), yc), "adaptive_max " .. what)
        end
      end
    end)
  end

  it("Conv2d padding_mode circular: a 3 x 3 window wrapped around a 3 x 3 input sees every element once", function()
    local conv = nn.Conv2d(1, 1, 3, { padding = 1, padding_mode = "circular", bias = false }):double()
    torch.no_grad(function() conv.weight:fill_(1) end)
    local x = torch.randn(2, 1, 3, 3, { dtype = torch.float64 })
    x.requires_grad = true
    local y = conv(x)
    assert.are.same({ 2, 1, 3, 3 }, { table.unpack(y.shape) })
    for n = 1, 2 do
      local s = x[n]:sum():item()
      for _, v in ipairs(vals(y[n])) do assert.near(s, v, 1e-12) end
    end
    -- every tap meets every element once per sample; every element feeds 9 outputs
    y:sum():backward()
    for _, v in ipairs(vals(conv.weight.grad)) do assert.near(x:sum():item(), v, 1e-12) end
    for _, v in ipairs(vals(x.grad)) do assert.near(9, v, 1e-12) end
  end)

  it("one_hot: non-contiguous indices, inferred classes, empty input, the CPU's errors", function()
    local idx = torch.tensor({ { 0, 1 }, { 3, 0 } }):t() -- flat order 0, 3, 1, 0
    assert.are.same({ 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0 }, vals(N.one_hot(idx)))
    assert.are.same({ 2, 2, 4 }, { table.unpack(N.one_hot(idx).shape) })
    assert.are.same({ 2, 2, 6 }, { table.unpack(N.one_hot(idx, 6).shape) })
    assert.are.same({ 0, 3 }, { table.unpack(N.one_hot(torch.zeros(0, { dtype = torch.int64 }), 3).shape) })
    assert.has_error(function() N.one_hot(torch.tensor({ { 2, -3 }, { -1, 9 } })) end,
      "one_hot: class values must be non-negative (1-based: at least 1), got -2")
    assert.has_error(function() N.one_hot(torch.tensor({ { 2, 7 }, { 1, 4 } }):t(), 5) end,
      "one_hot: class value 8 is out of range for 5 classes (expected 1..5)")
    assert.has_error(function() N.one_hot(torch.zeros(0, { dtype = torch.int64 })) end,
      "one_hot: cannot infer the number of classes from an empty tensor")
  end)
end)
