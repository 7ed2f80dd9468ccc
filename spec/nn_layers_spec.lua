-- nn layers (lua/nn/*.lua) against PyTorch 1.13 fixtures (spec/fixtures/gen_nn_layers.py): the
-- layer is built with PyTorch's arguments, PyTorch's weights are loaded with load_state_dict,
-- and outputs (and BatchNorm's running statistics) are compared in float64. Also the
-- initialisation statistics of layers and nn.init, and clip_grad_norm_ against PyTorch.
--
-- nn.functional (F) is written on another branch. Until it is present, layers that call F
-- are exercised through SHIM below: F.* mapped onto the torch._nn forward kernels (no
-- gradients), installed only for this file and removed in teardown.
local FX = dofile("spec/fixtures/nn_layers.lua")
local N = torch._nn

local have_F = pcall(require, "nn.functional")
local SHIM = {}
do
  local function o(t) return t or {} end
  function SHIM.conv2d(x, w, b, op) op = o(op); return N.conv2d(x, w, b, op.stride, op.padding, op.dilation, op.groups) end
  local function one(v) if type(v) == "table" then return v[1] end return v end
  function SHIM.conv1d(x, w, b, op)
    op = o(op); return N.conv1d(x, w, b, one(op.stride), one(op.padding), one(op.dilation), op.groups)
  end
  function SHIM.conv_transpose2d(x, w, b, op)
    op = o(op); return N.conv_transpose2d(x, w, b, op.stride, op.padding, op.output_padding, op.groups, op.dilation)
  end
  function SHIM.max_pool2d(x, k, op) op = o(op); return (N.max_pool2d(x, k, op.stride, op.padding, op.dilation, op.ceil_mode)) end
  function SHIM.max_pool1d(x, k, op) op = o(op); return (N.max_pool1d(x, k, op.stride, op.padding, op.dilation, op.ceil_mode)) end
  function SHIM.avg_pool2d(x, k, op)
    op = o(op); return N.avg_pool2d(x, k, op.stride, op.padding, op.ceil_mode, op.count_include_pad, op.divisor_override)
  end
  function SHIM.adaptive_avg_pool2d(x, s) return N.adaptive_avg_pool2d(x, s) end
  function SHIM.adaptive_max_pool2d(x, s) return (N.adaptive_max_pool2d(x, s)) end
  function SHIM.batch_norm(x, rm, rv, w, b, tr, m, e) return (N.batch_norm(x, rm, rv, w, b, tr, m, e)) end
  function SHIM.layer_norm(x, ns, w, b, e) return (N.layer_norm(x, ns, w, b, e)) end
  function SHIM.group_norm(x, g, w, b, e) return (N.group_norm(x, g, w, b, e)) end
  function SHIM.dropout(x, p, tr) return (N.dropout(x, p, tr)) end
  function SHIM.dropout2d(x, p, tr) return (N.dropout2d(x, p, tr)) end
  function SHIM.embedding(i, w) return N.embedding(i - 1, w) end
  function SHIM.gelu(x, op) return N.gelu(x, op and op.approximate) end
  for _, k in ipairs { "silu", "elu", "leaky_relu", "softplus", "hardtanh", "relu6" } do
    SHIM[k] = function(x, ...) return N[k](x, ...) end
  end
  function SHIM.pad(x, p, mode, v) return N.pad(x, p, mode, v) end
end

local function T(f)
  local t = torch.tensor(#f.data == 0 and {} or f.data, { dtype = f.dtype or "float64" })
  return t:reshape(f.shape)
end

local function close(got, f, what, tol)
  tol = tol or 1e-10
  assert(torch.is_tensor(got), what .. ": expected a tensor")
  assert.are.same(f.shape, { table.unpack(got.shape) }, what .. ": shape")
  local v = torch._flat_values(got)
  for i, e in ipairs(f.data) do
    local err = math.abs(v[i] - e)
    if err > tol * (1 + math.abs(e)) then
      error(string.format("%s: element %d is %.17g, expected %.17g", what, i, v[i], e))
    end
  end
end

-- the Lua construction of each fixture case (PyTorch's arguments translated)
local BUILD = {
  linear = function() return nn.Linear(4, 3) end,
  linear_nobias = function() return nn.Linear(4, 3, { bias = false }) end,
  bilinear = function() return nn.Bilinear(3, 2, 4) end,
  conv2d = function() return nn.Conv2d(2, 3, 3, { stride = 2, padding = 1 }) end,
  conv2d_same = function() return nn.Conv2d(4, 4, 3, { padding = "same", dilation = 2, groups = 2 }) end,
  conv2d_reflect = function() return nn.Conv2d(2, 3, 3, { padding = 1, padding_mode = "reflect", bias = false }) end,
  conv1d = function() return nn.Conv1d(2, 3, 3, { padding = 1 }) end,
  conv_transpose2d = function() return nn.ConvTranspose2d(2, 3, 3, { stride = 2, padding = 1, output_padding = 1 }) end,
  max_pool2d = function() return nn.MaxPool2d(2) end,
  max_pool2d_pad = function() return nn.MaxPool2d(3, { stride = 2, padding = 1 }) end,
  max_pool1d = function() return nn.MaxPool1d(2) end,
  avg_pool2d = function() return nn.AvgPool2d(2, { stride = 1 }) end,
  adaptive_avg_pool2d = function() return nn.AdaptiveAvgPool2d({ 2, 3 }) end,
  adaptive_max_pool2d = function() return nn.AdaptiveMaxPool2d(2) end,
  batch_norm2d_train = function() return nn.BatchNorm2d(2) end,
  batch_norm2d_cumulative = function() return nn.BatchNorm2d(2, { momentum = false }) end,
  batch_norm2d_eval = function() return nn.BatchNorm2d(2) end,
  batch_norm1d_train = function() return nn.BatchNorm1d(4) end,
  layer_norm = function() return nn.LayerNorm({ 5, 5 }) end,
  group_norm = function() return nn.GroupNorm(2, 4) end,
  embedding = function(c) return nn.Embedding(4, 3, { padding_idx = c.padding_idx }) end,
  relu = function() return nn.ReLU() end,
  relu6 = function() return nn.ReLU6() end,
  leaky_relu = function() return nn.LeakyReLU(0.2) end,
  elu = function() return nn.ELU(0.5) end,
  gelu = function() return nn.GELU() end,
  gelu_tanh = function() return nn.GELU("tanh") end,
  silu = function() return nn.SiLU() end,
  sigmoid = function() return nn.Sigmoid() end,
  tanh = function() return nn.Tanh() end,
  softplus = function() return nn.Softplus(2, 3) end,
  hardtanh = function() return nn.Hardtanh(-2, 1.5) end,
  softmax = function(c) return nn.Softmax(c.dim) end,
  log_softmax = function(c) return nn.LogSoftmax(c.dim) end,
  flatten = function() return nn.Flatten() end,
  unflatten = function(c) return nn.Unflatten(c.dim, { 2, 2 }) end,
  rnn_2layer = function() return nn.RNN(3, 4, { num_layers = 2 }) end,
  rnn_relu_unbatched = function() return nn.RNN(3, 4, { nonlinearity = "relu" }) end,
  lstm_bi_batch_first = function() return nn.LSTM(3, 4, { num_layers = 2, batch_first = true, bidirectional = true }) end,
  lstm_h0 = function() return nn.LSTM(3, 4) end,
  gru_bi = function() return nn.GRU(3, 4, { bidirectional = true }) end,
  gru_2layer_nobias = function() return nn.GRU(3, 4, { num_layers = 2, bias = false, batch_first = true }) end,
}

local function inputs_of(c)
  local xs = {}
  for i, f in ipairs(c.inputs) do
    if f.shape then xs[i] = T(f) else xs[i] = { T(f[1]), T(f[2]) } end -- LSTM's (h0, c0)
  end
  if c.name == "embedding" then xs[1] = xs[1] + 1 end -- class indices are 1-based in Lua
  return xs
end

describe("nn layers vs PyTorch", function()
  setup(function()
    if not have_F then
      package.loaded["nn.functional"] = SHIM
      rawset(nn, "functional", SHIM)
    end
  end)
  teardown(function()
    if not have_F then
      package.loaded["nn.functional"] = nil
      rawset(nn, "functional", nil)
    end
  end)

  for _, c in ipairs(FX.cases) do
    it(c.name .. (have_F and "" or " (F shimmed onto torch._nn)"), function()
      local build = assert(BUILD[c.name], "no builder for " .. c.name)
      local m = build(c):double()
      local sd = {}
      for k, f in pairs(c.state) do sd[k] = T(f) end
      local missing, unexpected = m:load_state_dict(sd)
      assert.are.same({}, missing)
      assert.are.same({}, unexpected)
      m:train(c.train)
      local out, hidden = m(table.unpack(inputs_of(c)))
      close(out, c.output, c.name .. " output")
      if c.hidden then
        if torch.is_tensor(hidden) then hidden = { hidden } end
        for i, h in ipairs(c.hidden) do close(hidden[i], h, c.name .. " hidden " .. i) end
      end
      if c.state_after then
        local after = m:state_dict()
        for k, f in pairs(c.state_after) do close(after[k], f, c.name .. " " .. k) end
      end
    end)
  end
end)

describe("nn layers: construction", function()
  it("Linear/Conv initialisation is U(-1/sqrt(fan_in), 1/sqrt(fan_in))", function()
    torch.manual_seed(1)
    local l = nn.Linear(400, 300)
    local b = 1 / math.sqrt(400)
    assert.is_true(l.weight:abs():max():item() <= b)
    assert.is_true(l.weight:abs():max():item() > 0.99 * b)
    -- uniform: std = bound / sqrt(3)
    assert.is_true(math.abs(l.weight:std():item() - b / math.sqrt(3)) < 0.02 * b)
    assert.is_true(l.bias:abs():max():item() <= b)
    local c = nn.Conv2d(8, 16, 3)
    local cb = 1 / math.sqrt(8 * 9)
    assert.is_true(c.weight:abs():max():item() <= cb)
    assert.is_true(c.bias:abs():max():item() <= cb)
    assert.are.same({ 16, 8, 3, 3 }, { table.unpack(c.weight.shape) })
    assert.are.same({ 6, 2, 3, 3 }, { table.unpack(nn.Conv2d(4, 6, 3, { groups = 2 }).weight.shape) })
    assert.are.same({ 4, 3, 3, 3 }, { table.unpack(nn.ConvTranspose2d(4, 6, 3, { groups = 2 }).weight.shape) })
    assert.is_true(l.weight.requires_grad and l.weight.is_leaf)
  end)

  it("BatchNorm buffers, Embedding padding row, RNN parameter names and bounds", function()
    local bn = nn.BatchNorm2d(3)
    local names = {}
    for n in bn:named_buffers() do names[#names + 1] = n end
    assert.are.same({ "running_mean", "running_var", "num_batches_tracked" }, names)
    assert.are.equal("int64", bn.num_batches_tracked.dtype)
    assert.are.equal(0, bn.num_batches_tracked:dim())
    assert.are.equal(0, #nn.BatchNorm2d(3, { affine = false }):parameters())
    assert.are.equal(0, #nn.BatchNorm2d(3, { track_running_stats = false }):buffers())
    local e = nn.Embedding(5, 4, { padding_idx = -1 })
    assert.are.equal(5, e.padding_idx)
    assert.are.equal(0, e.weight[5]:abs():sum():item())
    local lstm = nn.LSTM(3, 5, { num_layers = 2, bidirectional = true })
    local pn = {}
    for n, p in lstm:named_parameters() do pn[#pn + 1] = n .. ":" .. table.concat({ table.unpack(p.shape) }, "x") end
    assert.are.same({ "weight_ih_l0:20x3", "weight_hh_l0:20x5", "bias_ih_l0:20", "bias_hh_l0:20",
      "weight_ih_l0_reverse:20x3", "weight_hh_l0_reverse:20x5", "bias_ih_l0_reverse:20", "bias_hh_l0_reverse:20",
      "weight_ih_l1:20x10", "weight_hh_l1:20x5", "bias_ih_l1:20", "bias_hh_l1:20",
      "weight_ih_l1_reverse:20x10", "weight_hh_l1_reverse:20x5", "bias_ih_l1_reverse:20", "bias_hh_l1_reverse:20" }, pn)
    for _, p in ipairs(lstm:parameters()) do assert.is_true(p:abs():max():item() <= 1 / math.sqrt(5)) end
  end)

  it("prints like PyTorch", function()
    assert.are.equal("Linear(in_features=4, out_features=3, bias=False)", tostring(nn.Linear(4, 3, false)))
    assert.are.equal("Conv1d(2, 3, kernel_size=(3,), stride=(1,), padding=(1,))", tostring(nn.Conv1d(2, 3, 3, { padding = 1 })))
    assert.are.equal("Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=same, dilation=(2, 2), groups=2, padding_mode=reflect)",
      tostring(nn.Conv2d(4, 4, 3, { padding = "same", dilation = 2, groups = 2, padding_mode = "reflect" })))
    assert.are.equal("ConvTranspose2d(2, 3, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))",
      tostring(nn.ConvTranspose2d(2, 3, 3, { stride = 2, padding = 1, output_padding = 1 })))
    assert.are.equal("BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)", tostring(nn.BatchNorm2d(64)))
    assert.are.equal("BatchNorm1d(4, eps=0.001, momentum=None, affine=False, track_running_stats=True)",
      tostring(nn.BatchNorm1d(4, 1e-3, false, false)))
    assert.are.equal("LayerNorm((10,), eps=1e-05, elementwise_affine=True)", tostring(nn.LayerNorm(10)))
    assert.are.equal("GroupNorm(2, 4, eps=1e-05, affine=True)", tostring(nn.GroupNorm(2, 4)))
    assert.are.equal("MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)", tostring(nn.MaxPool2d(2, 2)))
    assert.are.equal("AvgPool2d(kernel_size=2, stride=2, padding=0)", tostring(nn.AvgPool2d(2)))
    assert.are.equal("AdaptiveAvgPool2d(output_size=(1, 1))", tostring(nn.AdaptiveAvgPool2d({ 1, 1 })))
    assert.are.equal("Dropout(p=0.5, inplace=False)", tostring(nn.Dropout()))
    assert.are.equal("Dropout2d(p=0.25, inplace=False)", tostring(nn.Dropout2d(0.25)))
    assert.are.equal("Embedding(10, 3, padding_idx=1)", tostring(nn.Embedding(10, 3, 1)))
    assert.are.equal("LSTM(10, 20, num_layers=2, batch_first=True, bidirectional=True)",
      tostring(nn.LSTM(10, 20, { num_layers = 2, batch_first = true, bidirectional = true })))
    assert.are.equal("RNN(3, 4, nonlinearity=relu, bias=False, dropout=0.5)",
      tostring(nn.RNN(3, 4, { nonlinearity = "relu", bias = false, dropout = 0.5 })))
    assert.are.equal("GRU(3, 4)", tostring(nn.GRU(3, 4)))
    local acts = { { nn.ReLU(), "ReLU()" }, { nn.ReLU({ inplace = true }), "ReLU(inplace=True)" }, { nn.ReLU6(), "ReLU6()" },
      { nn.LeakyReLU(), "LeakyReLU(negative_slope=0.01)" }, { nn.ELU(), "ELU(alpha=1.0)" },
      { nn.GELU(), "GELU(approximate='none')" }, { nn.SiLU(), "SiLU()" }, { nn.Sigmoid(), "Sigmoid()" },
      { nn.Tanh(), "Tanh()" }, { nn.Softplus(), "Softplus(beta=1, threshold=20)" },
      { nn.Hardtanh(), "Hardtanh(min_val=-1.0, max_val=1.0)" }, { nn.Softmax(2), "Softmax(dim=2)" },
      { nn.LogSoftmax(-1), "LogSoftmax(dim=-1)" }, { nn.Identity(), "Identity()" },
      { nn.Flatten(), "Flatten(start_dim=2, end_dim=-1)" },
      { nn.Unflatten(2, { 2, 5 }), "Unflatten(dim=2, unflattened_size=(2, 5))" },
      { nn.Bilinear(2, 3, 4), "Bilinear(in1_features=2, in2_features=3, out_features=4, bias=True)" } }
    for _, a in ipairs(acts) do assert.are.equal(a[2], tostring(a[1])) end
  end)

  it("rejects bad arguments with messages", function()
    assert.has_error(function() nn.Conv2d(3, 4, 3, { groups = 2 }) end, "Conv2d: in_channels must be divisible by groups")
    assert.has_error(function() nn.Conv2d(3, 4, 3, { stride = 2, padding = "same" }) end,
      "Conv2d: padding='same' is not supported for strided convolutions")
    assert.has_error(function() nn.Linear(3, 4, { bais = false }) end, "Linear: unexpected keyword argument 'bais'")
    assert.has_error(function() nn.Dropout(1.5) end, "Dropout: dropout probability has to be between 0 and 1, but got 1.5")
    assert.has_error(function() nn.RNN(3, 4, { nonlinearity = "gelu" }) end,
      "RNN: Unknown nonlinearity 'gelu'. Select from 'tanh' or 'relu'.")
    local ok, err = pcall(nn.Linear(3, 4), torch.zeros(2, 5))
    assert.is_false(ok)
    assert.truthy(err:find("Linear in_features=3: input has 5 features (shape [2, 5])", 1, true))
    ok, err = pcall(nn.Conv2d(3, 4, 3), torch.zeros(1, 2, 5, 5))
    assert.truthy(err:find("input has 2 channels, expected 3", 1, true))
    ok, err = pcall(nn.LSTM(3, 4), torch.zeros(5, 2, 2))
    assert.truthy(err:find("input.size(-1) must be equal to input_size. Expected 3, got 2", 1, true))
  end)

  it("Sequential names the failing child", function()
    local s = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(9, 2))
    local ok, err = pcall(s, torch.zeros(3, 4))
    assert.is_false(ok)
    assert.are.equal("Sequential[3] (Linear in_features=9): input has 8 features (shape [3, 8])", err)
    local outer = nn.Sequential(nn.Identity(), s)
    ok, err = pcall(outer, torch.zeros(3, 4))
    assert.are.equal("Sequential[2] (Sequential): Sequential[3] (Linear in_features=9): input has 8 features (shape [3, 8])", err)
  end)

  it("Dropout is the identity in eval mode and scales by 1/(1-p) in training", function()
    local d = nn.Dropout(0.5)
    local x = torch.ones(1000)
    if not have_F then rawset(nn, "functional", SHIM) end
    d:eval()
    assert.is_true(torch.equal(d(x), x))
    d:train()
    local y = d(x)
    local nz = y:ne(0):sum():item()
    assert.is_true(nz > 400 and nz < 600)
    assert.are.equal(2, y:max():item())
    if not have_F then rawset(nn, "functional", nil) end
  end)
end)

describe("nn.init", function()
  it("calculate_gain", function()
    assert.are.equal(1, nn.init.calculate_gain("linear"))
    assert.are.equal(1, nn.init.calculate_gain("sigmoid"))
    assert.are.equal(5.0 / 3, nn.init.calculate_gain("tanh"))
    assert.are.equal(math.sqrt(2), nn.init.calculate_gain("relu"))
    assert.are.equal(math.sqrt(2 / (1 + 0.2 ^ 2)), nn.init.calculate_gain("leaky_relu", 0.2))
    assert.are.equal(0.75, nn.init.calculate_gain("selu"))
    assert.has_error(function() nn.init.calculate_gain("foo") end, "calculate_gain: unsupported nonlinearity foo")
  end)

  it("statistics of the random initialisers", function()
    torch.manual_seed(3)
    local t = torch.empty(200, 300)
    local function stats(x) return x:mean():item(), x:std():item(), x:min():item(), x:max():item() end
    nn.init.uniform_(t, -2, 3)
    local m, s, lo, hi = stats(t)
    assert.is_true(math.abs(m - 0.5) < 0.02 and lo >= -2 and hi <= 3 and math.abs(s - 5 / math.sqrt(12)) < 0.02)
    nn.init.normal_(t, 1, 2)
    m, s = stats(t)
    assert.is_true(math.abs(m - 1) < 0.03 and math.abs(s - 2) < 0.03)
    nn.init.xavier_uniform_(t)
    local a = math.sqrt(6 / 500)
    m, s, lo, hi = stats(t)
    assert.is_true(lo >= -a and hi <= a and math.abs(s - a / math.sqrt(3)) < 0.01 * a * 3)
    nn.init.xavier_normal_(t, 2)
    m, s = stats(t)
    assert.is_true(math.abs(s - 2 * math.sqrt(2 / 500)) < 0.003)
    nn.init.kaiming_uniform_(t, { mode = "fan_in", nonlinearity = "relu" })
    local b = math.sqrt(3) * math.sqrt(2) / math.sqrt(300)
    m, s, lo, hi = stats(t)
    assert.is_true(lo >= -b and hi <= b and hi > 0.99 * b)
    nn.init.kaiming_normal_(t, 0, "fan_out", "relu")
    m, s = stats(t)
    assert.is_true(math.abs(s - math.sqrt(2 / 200)) < 0.002)
    local c = torch.empty(2, 3)
    nn.init.constant_(c, 0.5)
    assert.is_true(torch.equal(c, torch.full({ 2, 3 }, 0.5)))
    nn.init.ones_(c); assert.are.equal(6, c:sum():item())
    nn.init.zeros_(c); assert.are.equal(0, c:abs():sum():item())
    nn.init.eye_(c)
    assert.are.same({ { 1, 0, 0 }, { 0, 1, 0 } }, c:tolist())
    local w = nn.Parameter(torch.empty(3, 3))
    nn.init.normal_(w)
    assert.is_true(w.is_leaf and w.grad_fn == nil)
  end)

  it("orthogonal_ gives orthonormal rows or columns", function()
    torch.manual_seed(4)
    for _, shape in ipairs({ { 6, 4 }, { 4, 6 }, { 3, 2, 2 } }) do
      local w = torch.empty(shape, { dtype = "float64" })
      nn.init.orthogonal_(w, 2)
      local m = w:reshape(shape[1], -1)
      local g = m:size(1) >= m:size(2) and m:t():matmul(m) or m:matmul(m:t())
      local n = g:size(1)
      assert.is_true(torch.allclose(g, torch.eye(n, { dtype = "float64" }) * 4, { atol = 1e-10 }))
    end
  end)
end)

describe("nn.utils", function()
  it("clip_grad_norm_ matches PyTorch", function()
    for _, c in ipairs(FX.clip) do
      local ps = { torch.zeros(3, 4, { dtype = "float64", requires_grad = true }),
        torch.zeros(5, { dtype = "float64", requires_grad = true }) }
      for i, p in ipairs(ps) do p.grad = T(FX.grads0[i]) end
      local total = nn.utils.clip_grad_norm_(ps, c.max_norm, c.norm_type)
      assert.is_true(math.abs(total:item() - c.total) < 1e-10 * (1 + c.total))
      for i, p in ipairs(ps) do close(p.grad, c.grads[i], "clip grad " .. i) end
    end
  end)

  it("clip_grad_value_, parameters_to_vector, vector_to_parameters", function()
    local a = torch.zeros(2, 2, { requires_grad = true })
    local b = torch.zeros(3, { requires_grad = true })
    a.grad = torch.tensor({ { -3.0, 0.5 }, { 2.0, -0.25 } })
    b.grad = torch.tensor({ 1.5, -1.5, 0.0 })
    nn.utils.clip_grad_value_({ a, b }, 1)
    assert.are.same({ { -1, 0.5 }, { 1, -0.25 } }, a.grad:tolist())
    assert.are.same({ 1, -1, 0 }, b.grad:tolist())
    local v = nn.utils.parameters_to_vector({ a, b })
    assert.are.same({ 7 }, { table.unpack(v.shape) })
    nn.utils.vector_to_parameters(torch.arange(1, 8):float(), { a, b })
    assert.are.same({ { 1, 2 }, { 3, 4 } }, a:tolist())
    assert.are.same({ 5, 6, 7 }, b:tolist())
    assert.has_error(function() nn.utils.vector_to_parameters(torch.zeros(3), { a, b }) end,
      "vector_to_parameters: vector has 3 elements, parameters have 7")
  end)
end)
