-- nn.functional against PyTorch 1.13 (spec/fixtures/gen_nn_functional.py): outputs and the
-- gradients of every differentiable argument, float64 gradchecks, 1-based label conversions,
-- error messages, dropout modes, batch_norm running statistics, grad_fn names.
local F = require "nn.functional"
local FX = dofile("spec/fixtures/nn_functional.lua")

local function T(f, dt)
  local t = torch.tensor(#f.data == 0 and {} or f.data, { dtype = f.dtype or dt or "float64" })
  return t:reshape(f.shape)
end

local function close(got, f, what, tol)
  tol = tol or 1e-9
  assert(got ~= nil, what .. ": got nil")
  assert.are.same(f.shape, { table.unpack(got.shape) }, what .. ": shape")
  local v = torch._flat_values(got)
  for i, e in ipairs(f.data) do
    if math.abs(v[i] - e) > tol * (1 + math.abs(e)) then
      error(string.format("%s: element %d is %.17g, expected %.17g", what, i, v[i], e))
    end
  end
end

-- the Lua calls of the fixture cases (same order of arguments as the Python lambdas)
local state = {}
local CALL = {
  relu = F.relu, sigmoid = F.sigmoid, tanh = F.tanh,
  softmax = function(x) return F.softmax(x, 2) end,
  log_softmax = function(x) return F.log_softmax(x, { dim = 1 }) end,
  gelu = F.gelu, gelu_tanh = function(x) return F.gelu(x, { approximate = "tanh" }) end, silu = F.silu,
  elu = function(x) return F.elu(x, 0.5) end, leaky_relu = function(x) return F.leaky_relu(x, 0.2) end,
  softplus = function(x) return F.softplus(x, 2, 1) end, hardtanh = function(x) return F.hardtanh(x, -0.5, 0.7) end,
  relu6 = F.relu6,
  linear3d = F.linear, linear2d = F.linear, linear_nobias = function(x, w) return F.linear(x, w) end,
  bilinear = F.bilinear,
  conv1d = function(x, w, b) return F.conv1d(x, w, b, { stride = 2, padding = 1 }) end,
  conv2d = function(x, w, b) return F.conv2d(x, w, b, 2, 1, 2, 2) end,
  conv2d_same = function(x, w) return F.conv2d(x, w, nil, { padding = "same" }) end,
  conv2d_unbatched = function(x, w, b) return F.conv2d(x, w, b, { padding = 1 }) end,
  conv_transpose2d = function(x, w, b) return F.conv_transpose2d(x, w, b, { stride = 2, padding = 1, output_padding = 1 }) end,
  max_pool2d = function(x) return F.max_pool2d(x, 3, 2, 1) end,
  max_pool2d_unbatched = function(x) return F.max_pool2d(x, 2) end,
  max_pool1d = function(x) return F.max_pool1d(x, 3, 2) end,
  avg_pool2d = function(x) return F.avg_pool2d(x, 3, 2, 1, { ceil_mode = true, count_include_pad = false }) end,
  adaptive_avg_pool2d = function(x) return F.adaptive_avg_pool2d(x, { 3, 2 }) end,
  adaptive_max_pool2d = function(x) return F.adaptive_max_pool2d(x, 3) end,
  batch_norm_train = function(x, w, b) return F.batch_norm(x, state.rm, state.rv, w, b, true, 0.2, 1e-3) end,
  batch_norm_eval = function(x, w, b) return F.batch_norm(x, state.rm, state.rv, w, b, false) end,
  layer_norm = function(x, w, b) return F.layer_norm(x, { 4, 5 }, w, b, 1e-4) end,
  group_norm = function(x, w, b) return F.group_norm(x, 2, w, b) end,
  embedding = function(i, w) return F.embedding(i, w, { padding_idx = 5 }) end,
  pad_constant = function(x) return F.pad(x, { 1, 2, 0, 1 }, { value = 0.5 }) end,
  pad_reflect = function(x) return F.pad(x, { 2, 1, 1, 2 }, "reflect") end,
  pad_replicate = function(x) return F.pad(x, { 2, 1, 1, 2 }, { mode = "replicate" }) end,
  cross_entropy = function(x) return F.cross_entropy(x, torch.tensor({ 2, 1, 5, 3, 5, 4 })) end,
  cross_entropy_opts = function(x, t) return F.cross_entropy(x, t, { weight = state.w5, ignore_index = 3, label_smoothing = 0.1 }) end,
  cross_entropy_none = function(x, t) return F.cross_entropy(x, t, { reduction = "none" }) end,
  cross_entropy_probs = function(x, t) return F.cross_entropy(x, t, { weight = state.w5, label_smoothing = 0.2 }) end,
  nll_loss = function(x, t) return F.nll_loss(x, t, state.w5, nil, nil, nil, "sum") end,
  mse_loss = F.mse_loss, mse_loss_none = function(a, b) return F.mse_loss(a, b, { reduction = "none" }) end,
  l1_loss = function(a, b) return F.l1_loss(a, b, { reduction = "sum" }) end,
  smooth_l1_loss = function(a, b) return F.smooth_l1_loss(a, b, { beta = 0.5 }) end,
  huber_loss = function(a, b) return F.huber_loss(a, b, "mean", 0.7) end,
  bce = function(a, t) return F.binary_cross_entropy(a, t, state.w4) end,
  bce_with_logits = function(a, t) return F.binary_cross_entropy_with_logits(a, t, { pos_weight = state.w4 }) end,
  bce_with_logits_w = function(a, t) return F.binary_cross_entropy_with_logits(a, t, state.w4, { reduction = "sum" }) end,
  kl_div = function(a, t) return F.kl_div(a, t, { reduction = "batchmean" }) end,
  kl_div_log = function(a, t) return F.kl_div(a, t, { log_target = true }) end,
}

-- the class weights of the loss cases (w5 in the generator): recovered from a fixture
local function find(name)
  for _, c in ipairs(FX.cases) do
    if c.name == name then return c end
  end
end

describe("nn.functional vs PyTorch", function()
  for _, c in ipairs(FX.cases) do
    it(c.name .. ": output and gradients", function()
      assert(CALL[c.name], "no Lua call for " .. c.name)
      state.rm = c.rm and T(c.rm)
      state.rv = c.rv and T(c.rv)
      local args = {}
      for i, a in ipairs(c.args) do
        args[i] = T(a)
        if c.rg[i] then args[i]:requires_grad_() end
      end
      state.w5 = nil
      if c.name:match("^cross_entropy_") or c.name == "nll_loss" or c.name:match("^bce") then
        -- the generator's w5: stored as the probabilities case's weight (see gen): recompute
        state.w5 = T(FX.w5)
        state.w4 = state.w5:narrow(1, 1, 4)
      end
      local out = CALL[c.name](table.unpack(args))
      close(out, c.out, c.name .. " output")
      if c.rm_after then
        close(state.rm, c.rm_after, c.name .. " running_mean")
        close(state.rv, c.rv_after, c.name .. " running_var")
      end
      local any = false
      for i in ipairs(args) do any = any or c.rg[i] end
      if any then
        out:backward(T(c.gy))
        for i, a in ipairs(args) do
          if c.rg[i] then
            if c.grads[i] == "none" then
              assert.is_nil(a.grad, c.name .. ": argument " .. i .. " should get no gradient")
            else
              close(a.grad, c.grads[i], c.name .. " grad " .. i)
            end
          end
        end
      end
    end)
  end
end)

-- ---- float64 gradchecks -------------------------------------------------------------------------
local gradcheck = torch.autograd.gradcheck
local function r(...) return torch.randn(...):double():requires_grad_() end

describe("nn.functional gradcheck (float64)", function()
  local checks = {
    conv2d = function() return F.conv2d, { r(1, 4, 5, 5), r(2, 2, 3, 2), r(2) }, { 2, 1, 1, 2 } end,
    conv2d_dilation = function() return F.conv2d, { r(2, 2, 6, 6), r(3, 2, 2, 2), r(3) }, { 1, 2, 2 } end,
    conv1d = function() return F.conv1d, { r(2, 2, 6), r(3, 2, 3), r(3) }, { 2, 1 } end,
    conv_transpose2d = function() return F.conv_transpose2d, { r(1, 2, 3, 3), r(2, 2, 3, 3), r(2) }, { 2, 1, 1 } end,
    max_pool2d = function() return F.max_pool2d, { r(1, 2, 5, 5) }, { 2, 1, 1 } end,
    avg_pool2d = function() return F.avg_pool2d, { r(1, 2, 5, 5) }, { 3, 2, 1 } end,
    adaptive_avg_pool2d = function() return F.adaptive_avg_pool2d, { r(1, 2, 5, 4) }, { { 2, 3 } } end,
    adaptive_max_pool2d = function() return F.adaptive_max_pool2d, { r(1, 2, 5, 4) }, { 2 } end,
    batch_norm_train = function()
      return function(x, w, b) return F.batch_norm(x, nil, nil, w, b, true) end, { r(4, 3, 2), r(3), r(3) }, {}
    end,
    layer_norm = function() return function(x, w, b) return F.layer_norm(x, { 3 }, w, b) end, { r(2, 3), r(3), r(3) }, {} end,
    group_norm = function() return function(x, w, b) return F.group_norm(x, 2, w, b) end, { r(2, 4, 3), r(4), r(4) }, {} end,
    embedding = function() return function(w) return F.embedding(torch.tensor({ { 1, 3 }, { 3, 2 } }), w) end, { r(3, 2) }, {} end,
    pad_reflect = function() return function(x) return F.pad(x, { 1, 2 }, "reflect") end, { r(2, 4) }, {} end,
    pad_replicate = function() return function(x) return F.pad(x, { 1, 2, 2, 0 }, "replicate") end, { r(1, 2, 3) }, {} end,
    pad_circular = function() return function(x) return F.pad(x, { 3, 2, 2, 1 }, "circular") end, { r(1, 2, 3) }, {} end,
    gelu = function() return F.gelu, { r(6) }, {} end,
    silu = function() return F.silu, { r(6) }, {} end,
    elu = function() return F.elu, { r(6) }, {} end,
    leaky_relu = function() return F.leaky_relu, { r(6) }, {} end,
    softplus = function() return F.softplus, { r(6) }, {} end,
    hardtanh = function() return F.hardtanh, { r(6) }, {} end,
    relu6 = function() return function(x) return F.relu6(x * 4) end, { r(6) }, {} end,
    linear = function() return F.linear, { r(2, 3), r(4, 3), r(4) }, {} end,
    bilinear = function() return F.bilinear, { r(2, 3), r(2, 2), r(2, 3, 2), r(2) }, {} end,
    cross_entropy = function()
      return function(x, w) return F.cross_entropy(x, torch.tensor({ 1, 3 }), { label_smoothing = 0.1 }) end, { r(2, 3) }, {}
    end,
    cross_entropy_probs = function() return F.cross_entropy, { r(2, 3), torch.rand(2, 3):double():requires_grad_() }, {} end,
    nll_loss = function() return function(x) return F.nll_loss(x, torch.tensor({ 2, 1 })) end, { r(2, 3) }, {} end,
    mse_loss = function() return F.mse_loss, { r(2, 3), r(2, 3) }, {} end,
    l1_loss = function() return F.l1_loss, { r(2, 3), r(2, 3) }, {} end,
    smooth_l1_loss = function() return F.smooth_l1_loss, { r(2, 3), r(2, 3) }, { { beta = 0.5 } } end,
    huber_loss = function() return F.huber_loss, { r(2, 3), r(2, 3) }, { { delta = 0.5 } } end,
    bce = function()
      local p = torch.rand(2, 3):double() * 0.8 + 0.1
      return F.binary_cross_entropy, { p:requires_grad_(), torch.rand(2, 3):double() }, {}
    end,
    bce_with_logits = function()
      return F.binary_cross_entropy_with_logits, { r(2, 3), torch.rand(2, 3):double():requires_grad_() },
        { { pos_weight = torch.rand(3):double() + 0.5 } }
    end,
    kl_div = function()
      return F.kl_div, { r(2, 3), (torch.rand(2, 3):double() + 0.1):requires_grad_() }, { { reduction = "batchmean" } }
    end,
    kl_div_log = function() return F.kl_div, { r(2, 3), r(2, 3) }, { { log_target = true } } end,
  }
  local names = {}
  for k in pairs(checks) do names[#names + 1] = k end
  table.sort(names)
  for _, name in ipairs(names) do
    it(name, function()
      torch.manual_seed(7)
      local f, inputs, extra = checks[name]()
      local n = #inputs
      local fn = function(...)
        local a = { ... }
        for i, e in ipairs(extra) do a[n + i] = e end
        return f(table.unpack(a, 1, n + #extra))
      end
      assert.is_true(gradcheck(fn, inputs))
    end)
  end
end)

-- ---- labels, errors, modes ---------------------------------------------------------------------
describe("nn.functional labels and errors", function()
  it("converts 1-based class labels and reports them 1-based", function()
    local x = torch.tensor({ { 0, 0, 20, 0, 0, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 } }):double()
    local l = F.cross_entropy(x, torch.tensor({ 3, 10 }), { reduction = "none" })
    assert.is_true(l[1]:item() < 0.01)
    assert.near(math.log(9 + math.exp(0)), l[2]:item(), 1e-6)
    assert.has_error(function() F.cross_entropy(torch.zeros(4, 10), torch.tensor({ 1, 11, 2, 3 })) end,
      "cross_entropy: target 11 is out of range for 10 classes (expected 1..10)")
    local ok, err = pcall(F.cross_entropy, torch.zeros(2, 10), torch.tensor({ 0, 1 }))
    assert.is_false(ok)
    assert.truthy(err:find("target 0 is out of range for 10 classes (expected 1..10)", 1, true))
    ok, err = pcall(F.nll_loss, torch.zeros(2, 3), torch.tensor({ 1, 4 }))
    assert.truthy(err:find("nll_loss: target 4 is out of range for 3 classes", 1, true))
  end)

  it("ignore_index is a 1-based label (default -100)", function()
    local x = torch.randn(3, 4)
    local t = torch.tensor({ 2, 4, 1 })
    local full = F.cross_entropy(x, t, { reduction = "none" })
    local ig = F.cross_entropy(x, t, { ignore_index = 4 })
    assert.near((full[1]:item() + full[3]:item()) / 2, ig:item(), 1e-6)
    local t2 = torch.tensor({ 2, -100, 1 })
    assert.near(ig:item(), F.cross_entropy(x, t2):item(), 1e-6)
    local g = torch.randn(3, 4, { requires_grad = true })
    F.nll_loss(g:log_softmax(2), t, { ignore_index = 2 }):backward()
    assert.near(0, g.grad[1]:abs():sum():item(), 1e-12)
  end)

  it("one_hot, embedding and max_pool indices are 1-based", function()
    assert.are.same(FX.one_hot.data, torch._flat_values(F.one_hot(torch.tensor({ 3, 1, 2 }), 4)))
    local _, idx = F.max_pool2d(T(FX.max_pool_x), 2, { return_indices = true })
    assert.are.same(FX.max_pool_idx.data, torch._flat_values(idx))
    local w = torch.arange(6):reshape(3, 2):double()
    assert.are.same({ 0, 1, 4, 5 }, torch._flat_values(F.embedding(torch.tensor({ 1, 3 }), w)))
    assert.has_error(function() F.embedding(torch.tensor({ 0 }), w) end)
    local ok, err = pcall(F.embedding, torch.tensor({ 4 }), w)
    assert.truthy(err:find("index 4 is out of range for 3 rows (expected 1..3)", 1, true))
    ok, err = pcall(F.embedding, torch.tensor({ 1 }), w, { padding_idx = 4 })
    assert.truthy(err:find("embedding: padding_idx 4 is out of range for 3 rows", 1, true))
    -- padding_idx -1 is the last row: no gradient there
    local wg = torch.randn(3, 2, { requires_grad = true })
    F.embedding(torch.tensor({ 1, 3, 3 }), wg, { padding_idx = -1 }):sum():backward()
    assert.are.same({ 1, 1, 0, 0, 0, 0 }, torch._flat_values(wg.grad))
    assert.has_error(function() F.one_hot(torch.tensor({ 0, 1 })) end, "one_hot: class values must be >= 1 (1-based labels), got 0")
  end)

  it("rejects bad options with the function's name", function()
    assert.has_error(function() F.conv2d(torch.randn(1, 1, 3, 3), torch.randn(1, 1, 2, 2), nil, { strides = 2 }) end,
      "conv2d: unexpected option 'strides'")
    assert.has_error(function() F.mse_loss(torch.randn(2), torch.randn(2), { reduction = "avg" }) end,
      "mse_loss: avg is not a valid value for reduction")
    assert.has_error(function() F.dropout(torch.randn(2), 1.5) end,
      "dropout: dropout probability has to be between 0 and 1, but got 1.5")
    assert.has_error(function() F.batch_norm(torch.randn(2, 3), nil, nil) end,
      "batch_norm: running_mean and running_var must be defined in evaluation mode")
    local ok, err = pcall(F.conv2d, torch.randn(1, 2, 5, 5), torch.randn(3, 3, 3, 3))
    assert.is_false(ok)
    assert.truthy(err:find("conv2d", 1, true))
  end)

  it("dropout: train zeroes and rescales, eval is the identity", function()
    torch.manual_seed(1)
    local x = torch.ones(1000, { requires_grad = true })
    local y = F.dropout(x, 0.25)
    local v = torch._flat_values(y)
    local zeros = 0
    for _, e in ipairs(v) do
      if e == 0 then zeros = zeros + 1 else assert.near(1 / 0.75, e, 1e-6) end
    end
    assert.is_true(zeros > 180 and zeros < 320)
    y:sum():backward()
    assert.are.same(v, torch._flat_values(x.grad))
    assert.are.same(torch._flat_values(x), torch._flat_values(F.dropout(x, 0.25, false)))
    assert.are.same(torch._flat_values(x), torch._flat_values(F.dropout(x, { p = 0.5, training = false })))
    local z = F.dropout2d(torch.ones(2, 8, 3, 3), 0.5)
    for n = 1, 2 do
      for c = 1, 8 do
        local s = z[n][c]:sum():item()
        assert.is_true(s == 0 or math.abs(s - 18) < 1e-5)
      end
    end
  end)

  it("batch_norm updates running stats in training, not in eval", function()
    local c = find("batch_norm_train")
    local rm, rv = T(c.rm), T(c.rv)
    F.batch_norm(T(c.args[1]), rm, rv, nil, nil, true, 0.2, 1e-3)
    close(rm, c.rm_after, "running_mean")
    close(rv, c.rv_after, "running_var")
    F.batch_norm(T(c.args[1]), rm, rv, nil, nil, false)
    close(rm, c.rm_after, "running_mean (eval)")
  end)

  it("names the graph nodes as PyTorch", function()
    local x = torch.randn(1, 1, 4, 4, { requires_grad = true })
    assert.truthy(tostring(F.conv2d(x, torch.randn(1, 1, 3, 3)).grad_fn):find("ConvolutionBackward", 1, true))
    assert.truthy(tostring(F.max_pool2d(x, 2).grad_fn):find("MaxPool2DWithIndicesBackward", 1, true))
    assert.truthy(tostring(F.batch_norm(x, nil, nil, nil, nil, true).grad_fn):find("NativeBatchNormBackward", 1, true))
    assert.truthy(tostring(F.layer_norm(x, 4).grad_fn):find("NativeLayerNormBackward", 1, true))
    assert.truthy(tostring(F.mse_loss(x, x:detach()).grad_fn):find("MseLossBackward", 1, true))
  end)

  it("create_graph: mse/l1/piecewise activations twice differentiable, conv2d errors clearly", function()
    local x = torch.randn(5):double():requires_grad_()
    local t = torch.randn(5):double()
    local l = F.mse_loss(x, t, { reduction = "sum" })
    local g = torch.autograd.grad({ l }, { x }, { create_graph = true })[1]
    g:sum():backward() -- d/dx sum(2(x-t)) = 2
    assert.are.same({ 2, 2, 2, 2, 2 }, torch._flat_values(x.grad))
    local y = torch.tensor({ -2, -1, 0.5, 3 }):double():requires_grad_()
    local gl = torch.autograd.grad({ F.leaky_relu(y, 0.1):pow(2):sum() }, { y }, { create_graph = true })[1]
    assert.is_true(gl.requires_grad)
    gl:sum():backward() -- d/dy 2 lrelu(y) slope(y) = 2 slope^2
    close(y.grad, { shape = { 4 }, data = { 0.02, 0.02, 2, 2 } }, "leaky_relu double backward")
    local w = torch.randn(1, 1, 2, 2, { requires_grad = true })
    local xi = torch.randn(1, 1, 3, 3, { requires_grad = true })
    local gx = torch.autograd.grad({ F.conv2d(xi, w):pow(2):sum() }, { xi }, { create_graph = true })[1]
    assert.has_error(function() gx:sum():backward() end, "conv2d: double backward is not supported")
  end)

  it("loss classes match F (through a stub nn.Module when nn.Module is absent)", function()
    local had = package.loaded["nn.Module"]
    local ok = pcall(require, "nn.Module")
    if not ok then package.preload["nn.Module"] = function() return require("torch.class")("Module") end end
    local x, t = torch.randn(3, 4), torch.tensor({ 1, 4, 2 })
    local CE = require "nn.CrossEntropyLoss"
    assert.near(F.cross_entropy(x, t, { label_smoothing = 0.1 }):item(), CE({ label_smoothing = 0.1 }):forward(x, t):item(), 1e-7)
    local a, b = torch.randn(3, 4), torch.rand(3, 4)
    assert.near(F.mse_loss(a, b, { reduction = "sum" }):item(), require("nn.MSELoss")(nil, nil, "sum"):forward(a, b):item(), 1e-6)
    assert.near(F.kl_div(a, b, { reduction = "batchmean" }):item(), require("nn.KLDivLoss")({ reduction = "batchmean" }):forward(a, b):item(), 1e-6)
    assert.near(F.huber_loss(a, b, { delta = 0.3 }):item(), require("nn.HuberLoss")({ delta = 0.3 }):forward(a, b):item(), 1e-6)
    assert.near(F.binary_cross_entropy_with_logits(a, b):item(), require("nn.BCEWithLogitsLoss")():forward(a, b):item(), 1e-6)
    assert.has_error(function() CE({ weights = 1 }) end, "CrossEntropyLoss: unexpected option 'weights'")
    if not ok then package.preload["nn.Module"] = nil; package.loaded["nn.Module"] = had end
  end)
end)

describe("nn.functional dtypes and strides", function()
  local function max_diff(a, b)
    local va, vb = torch._flat_values(a), torch._flat_values(b)
    local m = 0
    for i = 1, #va do m = math.max(m, math.abs(va[i] - vb[i])) end
    return m
  end
  it("float32 and non-contiguous inputs agree with contiguous float64", function()
    torch.manual_seed(3)
    local xt = torch.randn(2, 3, 6, 5):transpose(3, 4) -- (2, 3, 5, 6), non-contiguous
    local w = torch.randn(4, 3, 3, 3)
    local cases = {
      function(x) return F.conv2d(x, w:to(x.dtype), nil, { padding = 1 }) end,
      function(x) return F.max_pool2d(x, 2) end,
      function(x) return F.avg_pool2d(x, 2) end,
      function(x) return F.layer_norm(x, { 6 }) end,
      function(x) return F.group_norm(x, 3) end,
      function(x) return F.batch_norm(x, nil, nil, nil, nil, true) end,
      function(x) return F.gelu(x) end,
      function(x) return F.pad(x, { 1, 1, 2, 0 }, "reflect") end,
      function(x) return F.mse_loss(x, x:flip(4)) end,
    }
    for i, f in ipairs(cases) do
      local a = xt:detach():requires_grad_()
      local ya = f(a)
      ya:sum():backward()
      local b = xt:contiguous():double():requires_grad_()
      local yb = f(b)
      yb:sum():backward()
      assert.equal("float32", ya.dtype)
      assert.is_true(max_diff(ya, yb) < 1e-4, "case " .. i .. " output")
      assert.is_true(max_diff(a.grad, b.grad) < 1e-4, "case " .. i .. " grad")
    end
  end)
  it("empty batches", function()
    local y = F.conv2d(torch.randn(0, 2, 4, 4), torch.randn(3, 2, 3, 3))
    assert.are.same({ 0, 3, 2, 2 }, { table.unpack(y.shape) })
    assert.are.same({ 0, 2, 2, 2 }, { table.unpack(F.max_pool2d(torch.randn(0, 2, 4, 4), 2).shape) })
  end)
end)

describe("nn.functional edge cases", function()
  it("unbatched, 0-d and 1-d inputs", function()
    assert.are.same({ 2 }, { table.unpack(F.linear(torch.randn(3), torch.randn(2, 3)).shape) })
    local y, idx = F.max_pool2d(torch.tensor({ { { 1, 5 }, { 7, 2 } } }):double(), 2, { return_indices = true })
    assert.are.same({ 7 }, torch._flat_values(y))
    assert.are.same({ 3 }, torch._flat_values(idx))
    assert.near(1, F.mse_loss(torch.tensor(1.5), torch.tensor(0.5)):item(), 1e-12)
    local x = torch.tensor({ 1, 2, 3 }):double()
    assert.near(math.log(math.exp(1) + math.exp(2) + math.exp(3)) - 2, F.cross_entropy(x, torch.tensor(2)):item(), 1e-12)
    assert.has_error(function() F.pad(torch.randn(2, 3), { 1, 1 }, "wrap") end,
      "pad: mode 'wrap' is not supported (expected 'constant', 'reflect', 'replicate' or 'circular')")
  end)
end)
