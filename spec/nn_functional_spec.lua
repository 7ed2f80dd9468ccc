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
