-- nn.functional (F): PyTorch's torch.nn.functional over the differentiable C kernels
-- (torch._nn.*, vm/lnn.c + autograd/functions_nn.c) and tensor ops.
-- Arguments: positional in PyTorch's order, or a trailing options table with named fields
-- (F.conv2d(x, w, b, {stride=2})). Class labels, ignore_index, padding_idx, embedding
-- indices and the indices returned by max pooling are 1-BASED here; the conversion to the
-- kernels' 0-based values happens in `zero_based` below and nowhere else.
local F = {}
local K = torch._nn

-- ---- argument handling ----------------------------------------------------------------------
local function is_options(t)
  if type(t) ~= "table" then return false end
  for k in pairs(t) do
    if type(k) == "string" then return true end
  end
  return false
end

-- args(fname, "name1 name2 ...", ...): a table name -> value from positional values (in the
-- order of the names) and a trailing options table; unknown option names and conflicts are
-- errors. The names come as one string (a constant: no table built per call) split once into
-- a list and a set; this runs on every functional call (relu, max_pool2d, ... in a model's
-- forward), so it builds only the result table.
local arg_names = {}
local function names_of(spec)
  local e = arg_names[spec]
  if not e then
    e = { list = {}, set = {} }
    for k in spec:gmatch("%S+") do
      e.list[#e.list + 1] = k
      e.set[k] = true
    end
    arg_names[spec] = e
  end
  return e
end
local function args(fname, spec, ...)
  local n = select("#", ...)
  local o = {}
  if n == 0 then return o end
  local names = names_of(spec)
  local last = select(n, ...)
  if is_options(last) then
    n = n - 1
    for k, v in pairs(last) do
      if type(k) ~= "string" or not names.set[k] then
        error(("%s: unexpected option '%s'"):format(fname, tostring(k)), 3)
      end
      o[k] = v
    end
  end
  local list = names.list
  if n > #list then error(("%s: too many arguments (%d, at most %d)"):format(fname, n, #list), 3) end
  for i = 1, n do
    local v = select(i, ...)
    if v ~= nil then
      if o[list[i]] ~= nil then error(("%s: got '%s' both positionally and as an option"):format(fname, list[i]), 3) end
      o[list[i]] = v
    end
  end
  return o
end

local function check_tensor(fname, what, t)
  if not torch.is_tensor(t) then
    error(("%s: expected %s to be a tensor, got %s"):format(fname, what, type(t)), 3)
  end
end

-- 1-based labels / indices (Lua) -> 0-based int64 (the kernels). Integer tensors only.
local function zero_based(t) return t:long() - 1 end
local function is_float(t) return t.dtype == "float32" or t.dtype == "float64" or t.dtype == "float16" end

-- PyTorch's legacy size_average / reduce arguments -> a reduction string.
local function reduction_of(o)
  if o.size_average ~= nil or o.reduce ~= nil then
    local sa = o.size_average ~= false
    local rd = o.reduce ~= false
    if not rd then return "none" end
    return sa and "mean" or "sum"
  end
  return o.reduction or "mean"
end

local function check_reduction(fname, r, extra)
  if r ~= "none" and r ~= "mean" and r ~= "sum" and r ~= extra then
    error(("%s: %s is not a valid value for reduction"):format(fname, tostring(r)), 3)
  end
end

-- in-place variants: the op runs on a clone (so autograd saved the clone, not x), then x
-- takes the result (and, under grad, its history through copy_).
local function maybe_inplace(x, inplace, f)
  if not inplace then return f(x) end
  local y = f(x.requires_grad and x:clone() or x)
  x:copy_(y)
  return x
end

-- ---- activations ----------------------------------------------------------------------------
function F.relu(x, ...)
  local o = args("relu", "inplace", ...)
  if o.inplace then return x:relu_() end
  return x:relu()
end
function F.relu_(x) return x:relu_() end
function F.sigmoid(x) return x:sigmoid() end
function F.tanh(x) return x:tanh() end

local function softmax_dim(fname, x, o)
  if o.dim == nil then
    error(("%s: dim is required (implicit dims are deprecated in PyTorch)"):format(fname), 3)
  end
  return o.dim
end
function F.softmax(x, ...)
  local o = args("softmax", "dim _stacklevel dtype", ...)
  local d = softmax_dim("softmax", x, o)
  if o.dtype then x = x:to(o.dtype) end
  return x:softmax(d)
end
function F.log_softmax(x, ...)
  local o = args("log_softmax", "dim _stacklevel dtype", ...)
  local d = softmax_dim("log_softmax", x, o)
  if o.dtype then x = x:to(o.dtype) end
  return x:log_softmax(d)
end

function F.gelu(x, ...)
  local o = args("gelu", "approximate", ...)
  return K.gelu(x, o.approximate or "none")
end
function F.silu(x, ...)
  local o = args("silu", "inplace", ...)
  return maybe_inplace(x, o.inplace, function(t) return K.silu(t) end)
end
function F.elu(x, ...)
  local o = args("elu", "alpha inplace", ...)
  return maybe_inplace(x, o.inplace, function(t) return K.elu(t, o.alpha or 1.0) end)
end
function F.leaky_relu(x, ...)
  local o = args("leaky_relu", "negative_slope inplace", ...)
  return maybe_inplace(x, o.inplace, function(t) return K.leaky_relu(t, o.negative_slope or 0.01) end)
end
function F.softplus(x, ...)
  local o = args("softplus", "beta threshold", ...)
  return K.softplus(x, o.beta or 1, o.threshold or 20)
end
function F.hardtanh(x, ...)
  local o = args("hardtanh", "min_val max_val inplace", ...)
  local lo, hi = o.min_val or -1.0, o.max_val or 1.0
  if lo > hi then error(("hardtanh: min_val (%g) cannot be greater than max_val (%g)"):format(lo, hi), 2) end
  return maybe_inplace(x, o.inplace, function(t) return K.hardtanh(t, lo, hi) end)
end
function F.relu6(x, ...)
  local o = args("relu6", "inplace", ...)
  return maybe_inplace(x, o.inplace, function(t) return K.relu6(t) end)
end

-- ---- linear ---------------------------------------------------------------------------------
-- x (*, in) @ w(out, in).T + b(out)
function F.linear(x, w, ...)
  local o = args("linear", "bias", ...)
  check_tensor("linear", "input", x)
  check_tensor("linear", "weight", w)
  local b = o.bias
  if x:dim() == 2 and b ~= nil then return torch.addmm(b, x, w:t()) end
  local y = x:matmul(w:t())
  if b ~= nil then y = y + b end
  return y
end

-- y[n, o] = sum_ij x1[n, i] w[o, i, j] x2[n, j] + b[o]; x1 (*, I), x2 (*, J), w (O, I, J)
function F.bilinear(x1, x2, w, ...)
  local o = args("bilinear", "bias", ...)
  check_tensor("bilinear", "input1", x1)
  check_tensor("bilinear", "input2", x2)
  check_tensor("bilinear", "weight", w)
  if w:dim() ~= 3 then error(("bilinear: expected weight with 3 dims (out, in1, in2), got %s"):format(tostring(w:size())), 2) end
  local O, I, J = w:size(1), w:size(2), w:size(3)
  if x1:size(-1) ~= I or x2:size(-1) ~= J then
    error(("bilinear: input sizes %d and %d do not match weight %s"):format(x1:size(-1), x2:size(-1), tostring(w:size())), 2)
  end
  local lead = {}
  for d = 1, x1:dim() - 1 do lead[d] = x1:size(d) end
  local a = x1:reshape(-1, I)
  local c = x2:reshape(-1, J)
  -- (N, I) @ (I, O*J) -> (N, O, J), times x2 (N, 1, J), summed over J
  local t = a:matmul(w:permute(2, 1, 3):reshape(I, O * J)):reshape(-1, O, J)
  local y = (t * c:unsqueeze(2)):sum(3)
  if o.bias ~= nil then y = y + o.bias end
  lead[#lead + 1] = O
  return y:reshape(table.unpack(lead))
end

-- ---- convolution ----------------------------------------------------------------------------
-- unbatched inputs (PyTorch 1.13): add the batch dim around the kernel
local function batched(x, ndim_batched, f)
  if x:dim() == ndim_batched - 1 then return f(x:unsqueeze(1)):squeeze(1) end
  return f(x)
end

-- conv1d's sizes may come as numbers or 1-element lists ((2,) in PyTorch, {2} in Lua)
local function single(v)
  if type(v) == "table" and not torch.is_tensor(v) and #v == 1 then return v[1] end
  return v
end
function F.conv1d(x, w, ...)
  local o = args("conv1d", "bias stride padding dilation groups", ...)
  check_tensor("conv1d", "input", x)
  local stride, padding, dilation = single(o.stride), single(o.padding), single(o.dilation)
  return batched(x, 3, function(t) return K.conv1d(t, w, o.bias, stride, padding, dilation, o.groups) end)
end
function F.conv2d(x, w, ...)
  local o = args("conv2d", "bias stride padding dilation groups", ...)
  check_tensor("conv2d", "input", x)
  return batched(x, 4, function(t) return K.conv2d(t, w, o.bias, o.stride, o.padding, o.dilation, o.groups) end)
end
function F.conv_transpose2d(x, w, ...)
  local o = args("conv_transpose2d", "bias stride padding output_padding groups dilation", ...)
  check_tensor("conv_transpose2d", "input", x)
  return batched(x, 4, function(t)
    return K.conv_transpose2d(t, w, o.bias, o.stride, o.padding, o.output_padding, o.groups, o.dilation)
  end)
end

-- ---- pooling --------------------------------------------------------------------------------
local function with_indices(y, idx, return_indices)
  if return_indices then return y, idx + 1 end -- 1-based flat positions
  return y
end
-- F.max_pool1d and F.max_pool2d: the same arguments, over K.max_pool1d / K.max_pool2d
for _, name in ipairs { "max_pool1d", "max_pool2d" } do
  F[name] = function(x, ...)
    local o = args(name, "kernel_size stride padding dilation ceil_mode return_indices", ...)
    check_tensor(name, "input", x)
    local y, idx = K[name](x, o.kernel_size, o.stride, o.padding, o.dilation, o.ceil_mode)
    return with_indices(y, idx, o.return_indices)
  end
end
function F.avg_pool2d(x, ...)
  local o = args("avg_pool2d", "kernel_size stride padding ceil_mode count_include_pad divisor_override", ...)
  check_tensor("avg_pool2d", "input", x)
  return K.avg_pool2d(x, o.kernel_size, o.stride, o.padding, o.ceil_mode, o.count_include_pad, o.divisor_override)
end
function F.adaptive_avg_pool2d(x, ...)
  local o = args("adaptive_avg_pool2d", "output_size", ...)
  check_tensor("adaptive_avg_pool2d", "input", x)
  return K.adaptive_avg_pool2d(x, o.output_size)
end
function F.adaptive_max_pool2d(x, ...)
  local o = args("adaptive_max_pool2d", "output_size return_indices", ...)
  check_tensor("adaptive_max_pool2d", "input", x)
  local y, idx = K.adaptive_max_pool2d(x, o.output_size)
  return with_indices(y, idx, o.return_indices)
end

-- ---- normalisation --------------------------------------------------------------------------
function F.batch_norm(x, ...)
  local o = args("batch_norm", "running_mean running_var weight bias training momentum eps", ...)
  check_tensor("batch_norm", "input", x)
  local training = o.training or false
  if not training and (o.running_mean == nil or o.running_var == nil) then
    error("batch_norm: running_mean and running_var must be defined in evaluation mode", 2)
  end
  local y = K.batch_norm(x, o.running_mean, o.running_var, o.weight, o.bias, training, o.momentum or 0.1, o.eps or 1e-5)
  return y
end
function F.layer_norm(x, ...)
  local o = args("layer_norm", "normalized_shape weight bias eps", ...)
  check_tensor("layer_norm", "input", x)
  local ns = o.normalized_shape
  if type(ns) == "number" then ns = { ns } end
  local y = K.layer_norm(x, ns, o.weight, o.bias, o.eps or 1e-5)
  return y
end
function F.group_norm(x, ...)
  local o = args("group_norm", "num_groups weight bias eps", ...)
  check_tensor("group_norm", "input", x)
  local y = K.group_norm(x, o.num_groups, o.weight, o.bias, o.eps or 1e-5)
  return y
end

-- ---- dropout --------------------------------------------------------------------------------
local function dropout_common(fname, kernel, x, ...)
  local o = args(fname, "p training inplace", ...)
  check_tensor(fname, "input", x)
  local p = o.p or 0.5
  if p < 0 or p > 1 then
    error(("%s: dropout probability has to be between 0 and 1, but got %s"):format(fname, tostring(p)), 3)
  end
  local training = o.training
  if training == nil then training = true end
  return maybe_inplace(x, o.inplace, function(t) return (kernel(t, p, training)) end)
end
function F.dropout(x, ...) return dropout_common("dropout", K.dropout, x, ...) end
function F.dropout2d(x, ...)
  local o = args("dropout2d", "p training inplace", ...)
  check_tensor("dropout2d", "input", x)
  -- unbatched (C, H, W): channel-wise over dim 1 (PyTorch 1.13 treats 3-D input as unbatched)
  if x:dim() == 3 then
    local y = dropout_common("dropout2d", K.dropout2d, x:unsqueeze(1), o.p, o.training)
    y = y:squeeze(1)
    if o.inplace then x:copy_(y) return x end
    return y
  end
  return dropout_common("dropout2d", K.dropout2d, x, o.p, o.training, o.inplace)
end

-- ---- embedding / one_hot / pad --------------------------------------------------------------
function F.embedding(idx, weight, ...)
  local o = args("embedding", "padding_idx max_norm norm_type scale_grad_by_freq sparse", ...)
  check_tensor("embedding", "input", idx)
  check_tensor("embedding", "weight", weight)
  if is_float(idx) then error(("embedding: expected indices of an integer dtype, got %s"):format(idx.dtype), 2) end
  if o.max_norm ~= nil or o.scale_grad_by_freq or o.sparse then
    error("embedding: max_norm, scale_grad_by_freq and sparse are not supported", 2)
  end
  local p = o.padding_idx
  local p0
  if p ~= nil then
    local V = weight:size(1)
    if p == 0 or p > V or p < -V then
      error(("embedding: padding_idx %d is out of range for %d rows (expected 1..%d or -%d..-1)"):format(p, V, V, V), 2)
    end
    p0 = p > 0 and p - 1 or V + p
  end
  return K.embedding(zero_based(idx), weight, p0)
end

function F.one_hot(t, ...)
  local o = args("one_hot", "num_classes", ...)
  check_tensor("one_hot", "input", t)
  if is_float(t) then error(("one_hot: expected an integer tensor of class labels, got %s"):format(t.dtype), 2) end
  if t:numel() > 0 and t:min():item() < 1 then
    error(("one_hot: class values must be >= 1 (1-based labels), got %d"):format(t:min():item()), 2)
  end
  return K.one_hot(zero_based(t), o.num_classes or -1)
end

function F.pad(x, ...)
  local o = args("pad", "pad mode value", ...)
  check_tensor("pad", "input", x)
  if type(o.pad) ~= "table" then error("pad: expected pad to be an array of numbers", 2) end
  local mode = o.mode or "constant"
  if mode ~= "constant" and mode ~= "reflect" and mode ~= "replicate" and mode ~= "circular" then
    error(("pad: mode '%s' is not supported (expected 'constant', 'reflect', 'replicate' or 'circular')"):format(tostring(mode)), 2)
  end
  return K.pad(x, o.pad, mode, o.value or 0)
end

-- ---- losses ---------------------------------------------------------------------------------
-- class targets: integer tensors of 1-based labels (ignore_index is a label too: default
-- -100, as in PyTorch), or float class probabilities of the input's shape.
local function class_target(fname, t)
  check_tensor(fname, "target", t)
  if is_float(t) then return t end
  return zero_based(t)
end

function F.cross_entropy(input, target, ...)
  if select("#", ...) == 0 and torch.is_tensor(input) and torch.is_tensor(target) then
    return K.cross_entropy_1b(input, target, nil, -100, "mean", 0) -- the defaults: no parsing
  end
  local o = args("cross_entropy", "weight size_average ignore_index reduce reduction label_smoothing", ...)
  check_tensor("cross_entropy", "input", input)
  local red = reduction_of(o)
  check_reduction("cross_entropy", red)
  return K.cross_entropy(input, class_target("cross_entropy", target), o.weight, (o.ignore_index or -100) - 1, red,
    o.label_smoothing or 0)
end

function F.nll_loss(input, target, ...)
  local o = args("nll_loss", "weight size_average ignore_index reduce reduction", ...)
  check_tensor("nll_loss", "input", input)
  check_tensor("nll_loss", "target", target)
  local red = reduction_of(o)
  check_reduction("nll_loss", red)
  if is_float(target) then error(("nll_loss: expected target of an integer dtype (class labels), got %s"):format(target.dtype), 2) end
  return K.nll_loss(input, zero_based(target), o.weight, (o.ignore_index or -100) - 1, red)
end

local function pointwise(fname, kernel, extra)
  local names = "size_average reduce reduction" .. (extra and " " .. extra or "")
  return function(input, target, ...)
    local o = args(fname, names, ...)
    check_tensor(fname, "input", input)
    check_tensor(fname, "target", target)
    local red = reduction_of(o)
    check_reduction(fname, red)
    return kernel(input, target, red, o)
  end
end
F.mse_loss = pointwise("mse_loss", function(x, t, r) return K.mse_loss(x, t, r) end)
F.l1_loss = pointwise("l1_loss", function(x, t, r) return K.l1_loss(x, t, r) end)
F.smooth_l1_loss = pointwise("smooth_l1_loss", function(x, t, r, o)
  local beta = o.beta or 1.0
  if beta < 0 then error(("smooth_l1_loss: beta must be >= 0, got %g"):format(beta), 4) end
  if beta == 0 then return K.l1_loss(x, t, r) end
  return K.smooth_l1_loss(x, t, r, beta)
end, "beta")

function F.huber_loss(input, target, ...)
  local o = args("huber_loss", "reduction delta", ...)
  check_tensor("huber_loss", "input", input)
  check_tensor("huber_loss", "target", target)
  local red = o.reduction or "mean"
  check_reduction("huber_loss", red)
  local delta = o.delta or 1.0
  if delta <= 0 then error(("huber_loss: delta must be > 0, got %g"):format(delta), 2) end
  return K.huber_loss(input, target, red, delta)
end

function F.kl_div(input, target, ...)
  local o = args("kl_div", "size_average reduce reduction log_target", ...)
  check_tensor("kl_div", "input", input)
  check_tensor("kl_div", "target", target)
  local red = reduction_of(o)
  check_reduction("kl_div", red, "batchmean")
  local lt = o.log_target or false
  if red == "batchmean" then
    local s = K.kl_div(input, target, "sum", lt)
    if input:dim() == 0 then return s end
    return s / input:size(1)
  end
  return K.kl_div(input, target, red, lt)
end

function F.binary_cross_entropy(input, target, ...)
  local o = args("binary_cross_entropy", "weight size_average reduce reduction", ...)
  check_tensor("binary_cross_entropy", "input", input)
  check_tensor("binary_cross_entropy", "target", target)
  local red = reduction_of(o)
  check_reduction("binary_cross_entropy", red)
  return K.binary_cross_entropy(input, target, o.weight, red)
end

function F.binary_cross_entropy_with_logits(input, target, ...)
  local o = args("binary_cross_entropy_with_logits", "weight size_average reduce reduction pos_weight", ...)
  check_tensor("binary_cross_entropy_with_logits", "input", input)
  check_tensor("binary_cross_entropy_with_logits", "target", target)
  local red = reduction_of(o)
  check_reduction("binary_cross_entropy_with_logits", red)
  return K.binary_cross_entropy_with_logits(input, target, o.weight, red, o.pos_weight)
end

return F
