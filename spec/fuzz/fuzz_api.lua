-- fuzz_api.lua: a seeded random program generator for the torch module (issue 10).
--
--   build/nnlua spec/fuzz/fuzz_api.lua [--seed N] [--seconds S | --iterations N]
--                                       [--log FILE] [--steps K] [--quiet] [--nn P]
--
-- Every function of torch and every tensor method (enumerated at run time, so new ops are
-- covered without edits), the metamethods, t[k], t[k] = v and attribute get/set are called with
-- random arguments: tensors of random shapes (0-d, empty, up to 8 dims) of every dtype, also
-- non-contiguous (transposed, narrowed, expanded, stepped) and broadcastable or not; dims and
-- indices in and out of range; numbers nan, inf, -0, huge, math.mininteger/maxinteger,
-- fractional; nil, strings, booleans, nested/ragged/string-keyed tables, functions, tables whose
-- metamethods raise. Each call runs in pcall: it must return or raise an error whose value is a
-- non-empty string. Anything else (a crash, a sanitizer report, a non-string error) is a bug.
--
-- Reproducing: each step is written to the log (default spec/tmp/fuzz_<seed>.log) as a runnable
-- Lua statement and flushed BEFORE it runs, so after a crash the log's tail is the crashing
-- program: `build/nnlua FILE.log` replays the whole run (or copy the last iteration's lines,
-- which start at its "-- iter" comment and are self-contained).
--
-- Allocation is bounded: generated tensors hold at most 512 elements and the numbers in the
-- pool are either small (<= 7) or so huge that they must fail cleanly ("too large" / "out of
-- memory"), never sizes in between that would really allocate gigabytes. The runners set
-- ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=... (or ulimit -v) so that a
-- huge malloc returns NULL exactly like libc's does instead of the sanitizer aborting.

local opts = {seed = 1, seconds = nil, iterations = nil, log = nil, steps = 3, quiet = false, nn = 0.3}
do
  local i = 1
  while arg and arg[i] do
    local a = arg[i]
    if a == "--seed" then opts.seed = math.tointeger(tonumber(arg[i + 1])); i = i + 2
    elseif a == "--seconds" then opts.seconds = tonumber(arg[i + 1]); i = i + 2
    elseif a == "--iterations" then opts.iterations = math.tointeger(tonumber(arg[i + 1])); i = i + 2
    elseif a == "--log" then opts.log = arg[i + 1]; i = i + 2
    elseif a == "--steps" then opts.steps = math.tointeger(tonumber(arg[i + 1])); i = i + 2
    elseif a == "--quiet" then opts.quiet = true; i = i + 1
    elseif a == "--nn" then opts.nn = tonumber(arg[i + 1]); i = i + 2 -- share of nn/optim/data steps
    else error("fuzz_api: unknown argument " .. tostring(a)) end
  end
  if not opts.seconds and not opts.iterations then opts.iterations = 1000 end
end

local clock = os.clock
local wall = torch.time or os.clock
math.randomseed(opts.seed)
local rnd = math.random
local function pick(t) return t[rnd(#t)] end
local function chance(p) return rnd() < p end

---------------------------------------------------------------------------------------------
-- The targets, enumerated at run time.
local torch_fns, methods = {}, {}
for k, v in pairs(torch) do
  if type(v) == "function" then torch_fns[#torch_fns + 1] = k end
end
for k, v in pairs(torch.Tensor) do
  if type(v) == "function" then methods[#methods + 1] = k end
end
-- torch.cuda, and the C entry points under torch._nn / torch._optim (internal, but reachable
-- from any script: they must raise, not crash, on anything)
for _, sub in ipairs({ "cuda", "_nn", "_optim" }) do
  if type(torch[sub]) == "table" then
    for k, v in pairs(torch[sub]) do
      if type(v) == "function" then torch_fns[#torch_fns + 1] = sub .. "." .. k end
    end
  end
end
table.sort(torch_fns); table.sort(methods) -- pairs order is not deterministic: sort for seeds

-- Global settings that a call may change are restored after every step, so that one iteration
-- is reproducible alone and the run does not slow down (set_num_threads(64) on 2 cores).
local default_threads = torch.get_num_threads and torch.get_num_threads() or 1
local RESTORE = string.format(
  "pcall(torch.set_default_dtype, 'float32'); pcall(torch.set_num_threads, %d); " ..
  "pcall(torch.set_printoptions, {precision=4, threshold=1000, linewidth=80, sci_mode=nil})",
  default_threads)

---------------------------------------------------------------------------------------------
-- Value generators: each returns Lua source text; the program runs that exact text.
local DTYPES = {"float32", "float64", "int64", "int32", "uint8", "bool"}
local ALL_DTYPES = {"float32", "float64", "int64", "int32", "uint8", "bool", "float16",
                    "bfloat16", "float", "double", "long", "int", "half", "byte", "nope", ""}
local SMALL = {"0", "1", "2", "3", "-1", "-2", "1", "2", "1", "0", "4", "5", "7", "-3"}
-- Numbers as arguments: small, special, or so huge that any size made of them must fail
-- (>= 2^40 elements); nothing in between, which would really allocate gigabytes.
local SPECIAL = {"0/0", "-(0/0)", "math.huge", "-math.huge", "-0.0", "0.0", "0.5", "-0.5", "1.5",
                 "2.5", "1e-300", "1e308", "-1e308", "1e12", "-1e12", "2^53", "2^62", "2^63",
                 "-2^63", "math.maxinteger", "math.mininteger", "math.maxinteger - 1",
                 "math.mininteger + 1", "-2^31", "1e30", "4.9e-324", "3.75", "-7.25", "8", "-8",
                 "-129", "2^40", "-2^40", "2^64", "2^31 * 2^31"}
-- Values only for tensor contents and fill values (uint8/int32 edges).
local CONTENT = {"255", "256", "-129", "2^31", "-2^31 - 1", "2^32", "100", "-100", "127", "128"}
local HUGE = {"1e12", "2^40", "2^62", "math.maxinteger", "math.mininteger", "1e300", "-1e12",
              "math.maxinteger // 2", "2^61 + 1", "2^41 + 1", "-(2^40)"}

local function num()
  if chance(0.6) then return pick(SMALL) end
  return pick(SPECIAL)
end
local function dim()
  if chance(0.75) then return pick({"1", "2", "-1", "-2", "3", "0", "1", "-1", "4"}) end
  return pick({"9", "-9", "2^40", "-(2^40)", "1.5", "math.maxinteger", "math.mininteger", "0/0",
               "math.huge", "2^41", "-2^31", "2^52 + 1", "'1'", "true"})
end

-- A shape: list of sizes with at most 512 elements in all.
local function gen_shape(maxdim)
  local nd
  local r = rnd()
  if r < 0.12 then nd = 0 elseif r < 0.9 then nd = rnd(1, 3) else nd = rnd(math.min(4, maxdim or 8), maxdim or 8) end
  local s, n = {}, 1
  for i = 1, nd do
    local d
    if chance(0.06) then d = 0 elseif chance(0.25) then d = 1 else d = rnd(1, 5) end
    if n * math.max(d, 1) > 512 then d = 1 end
    s[i] = d; n = n * math.max(d, 1)
  end
  return s
end
local function shape_src(s) return "{" .. table.concat(s, ", ") .. "}" end

-- A broadcast partner of shape s: a suffix of s with some sizes set to 1 (or a random one).
local function partner_shape(s)
  if chance(0.2) then return gen_shape() end
  local k = rnd(0, #s)
  local p = {}
  for i = #s - k + 1, #s do p[#p + 1] = chance(0.3) and 1 or s[i] end
  if chance(0.15) then table.insert(p, 1, rnd(1, 3)) end
  return p
end

local function literal_table(s, leaf)
  if #s == 0 then return leaf() end
  local function build(d)
    if d > #s then return leaf() end
    local parts = {}
    for _ = 1, s[d] do parts[#parts + 1] = build(d + 1) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  return build(1)
end

local tensor_of_plain
-- Base tensor of shape s and dtype dt (source text), then maybe a view that keeps the shape's
-- rank but not its contiguity.
local function tensor_of(s, dt)
  dt = dt or pick(DTYPES)
  local ss = shape_src(s)
  local r = rnd()
  local src
  if r < 0.35 then
    src = string.format("torch.randn(%s):mul(3):to('%s')", ss, dt)
  elseif r < 0.55 then
    local n = 1
    for _, d in ipairs(s) do n = n * d end
    src = string.format("torch.arange(0, %d):reshape(%s):to('%s')", n, ss, dt)
  elseif r < 0.7 then
    src = string.format("torch.full(%s, %s, {dtype='%s'})", ss,
                        chance(0.7) and pick(SPECIAL) or pick(CONTENT), dt)
  elseif r < 0.85 then
    local leaf = function() return pick(SMALL) end
    if dt == "bool" then leaf = function() return pick({"true", "false"}) end
    elseif dt:match("float") then leaf = function() return num() end
    elseif chance(0.3) then leaf = function() return pick(CONTENT) end end
    src = string.format("torch.tensor(%s, {dtype='%s'})", literal_table(s, leaf), dt)
  else
    src = string.format("torch.zeros(%s, {dtype='%s'})", ss, dt)
  end
  -- non-contiguous views of the same shape: transpose-and-back through clone is contiguous,
  -- so build a bigger/permuted tensor and view it down instead.
  local v = rnd()
  if v < 0.15 and #s >= 2 then
    -- a transposed view with shape s: make the transposed shape then transpose back
    local t = {}
    for i = 1, #s do t[i] = s[i] end
    t[1], t[#s] = t[#s], t[1]
    src = tensor_of_plain(t, dt) .. string.format(":transpose(1, %d)", #s)
  elseif v < 0.25 and #s >= 1 then
    -- narrow a bigger tensor along one dim
    local d = rnd(1, #s)
    local t = {}
    for i = 1, #s do t[i] = s[i] end
    t[d] = t[d] + 2
    src = tensor_of_plain(t, dt) .. string.format(":narrow(%d, 2, %d)", d, s[d])
  elseif v < 0.35 and #s >= 1 then
    -- expand: a size-1 dim broadcast to the size (stride 0)
    local t = {}
    for i = 1, #s do t[i] = s[i] end
    local d = rnd(1, #s)
    t[d] = 1
    src = tensor_of_plain(t, dt) .. string.format(":expand(%s)", ss)
  elseif v < 0.42 and #s >= 1 and s[1] > 0 then
    -- stepped slice: every other element along dim 1
    local t = {}
    for i = 1, #s do t[i] = s[i] end
    t[1] = 2 * s[1]
    src = tensor_of_plain(t, dt) .. string.format("[{{1, %d, 2}}]", 2 * s[1])
  end
  return src
end
tensor_of_plain = function(s, dt)
  local ss = shape_src(s)
  if chance(0.5) then return string.format("torch.randn(%s):mul(3):to('%s')", ss, dt) end
  local n = 1
  for _, d in ipairs(s) do n = n * d end
  return string.format("torch.arange(0, %d):reshape(%s):to('%s')", n, ss, dt)
end

local function index_tensor()
  local s = gen_shape(3)
  local leaf = function()
    if chance(0.8) then return pick({"1", "2", "3", "-1", "0", "1", "2", "4"}) end
    return pick({"100", "-100", "math.maxinteger", "math.mininteger", "2^40"})
  end
  return string.format("torch.tensor(%s, {dtype='%s'})", literal_table(s, leaf),
                       chance(0.85) and "int64" or pick(DTYPES))
end
local function mask_tensor(s)
  return string.format("torch.randn(%s):gt(0)", shape_src(s or gen_shape()))
end

local function opts_table(ctx)
  local keys = {"dtype", "device", "requires_grad", "dim", "keepdim", "alpha", "out", "min",
                "max", "unbiased", "p", "rtol", "atol", "value", "precision", "threshold",
                "linewidth", "sci_mode", "edgeitems", "generator", "pin_memory", "layout", "x"}
  local parts = {}
  for _ = 1, rnd(1, 3) do
    local k = pick(keys)
    local v
    if k == "dtype" then v = "'" .. pick(ALL_DTYPES) .. "'"
    elseif k == "device" then v = pick({"'cpu'", "'cuda'", "'cuda:1'", "'tpu'", "'cpu:0'", "1"})
    elseif k == "out" then v = ctx and ctx() or "torch.zeros(2)"
    elseif k == "dim" then v = chance(0.7) and dim() or "{1, -1}"
    else v = chance(0.3) and pick({"true", "false", "'x'", "{}"}) or num() end
    parts[#parts + 1] = k .. " = " .. v
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local MISC = {"nil", "true", "false", "'float64'", "'int64'", "'cpu'", "'cuda'", "'x'", "''",
              "'1'", "'-1'", "function() end", "function() error('user error') end", "tostring",
              "coroutine.create(function() end)", "io.stdout", "torch", "torch.Tensor",
              "setmetatable({}, {__index = function() error('index boom') end})",
              "setmetatable({}, {__len = function() return 2^40 end})",
              "setmetatable({1, 2}, {__index = function(_, k) error('boom ' .. tostring(k)) end})",
              "setmetatable({}, {__len = function() error('len boom') end})",
              "string.rep('a', 300)"}
local TABLES = {"{}", "{1, 2}", "{2, 3}", "{{1, 2}, {3, 4}}", "{{1, 2}, {3}}", "{1, {2}}",
                "{{}}", "{{{}}}", "{a = 1}", "{1, 2, x = 3}", "{1, nil, 3}", "{'a', 'b'}",
                "{true, false}", "{1, true}", "{0/0, math.huge}", "{1e12, 1e12}",
                "{math.maxinteger, 2}", "{-1, 2}", "{-1, -1}", "{0}", "{1.5, 2}",
                "{2, 2, 2, 2, 2, 2, 2, 2, 2}", "{{1, 2}, {3, 'x'}}",
                "{torch.zeros(2), torch.ones(2)}", "{torch.zeros(2), 3}", "{1, {2, {3, {4}}}}",
                "{[2] = 1}", "{[0] = 1, 2}", "{[-1] = 5}", "{[1.5] = 1}",
                "{{1, 2}, 3}", "{{{1}}, {{2}}}"}

-- One argument: context-dependent tensor generators come from the current step.
local function arg_src(ctx)
  local r = rnd()
  if r < 0.42 then return ctx.tensor()
  elseif r < 0.60 then return num()
  elseif r < 0.70 then return dim()
  elseif r < 0.76 then return pick(HUGE)
  elseif r < 0.83 then return pick(TABLES)
  elseif r < 0.86 then return opts_table(ctx.tensor)
  elseif r < 0.89 then return index_tensor()
  elseif r < 0.91 then return mask_tensor(ctx.shape)
  elseif r < 0.93 and ctx.prev then return "R"
  elseif r < 0.96 then return "'" .. pick(ALL_DTYPES) .. "'"
  else return pick(MISC) end
end

---------------------------------------------------------------------------------------------
-- Steps: (function source, argument sources).
local ATTRS = {"shape", "dtype", "device", "requires_grad", "grad", "grad_fn", "is_leaf", "data",
               "T", "ndim", "foo", "__index", "__gc", "size"}
local METAOPS = {"x + y", "x - y", "x * y", "x / y", "x ^ y", "x // y", "x % y", "-x", "#x",
                 "tostring(x)", "x == y", "x < y", "x .. y", "x & y", "x(y)"}

-- nn, optim, data and checkpoints: modules built with random (often wrong) arguments, forward
-- with random shapes/dtypes, losses with out-of-range targets, optimizers with bad
-- hyperparameters stepping on parameters whose grads are nil/odd, DataLoaders with bad options,
-- torch.save/load of random objects (relative paths: the runner's cwd is a scratch folder).
local LAYERS = {
  Linear = {"3", "4"}, Bilinear = {"2", "3", "4"}, Identity = {}, Flatten = {}, Unflatten = {"2", "{2, 2}"},
  Conv1d = {"2", "3", "3"}, Conv2d = {"2", "3", "3", "{padding = 1}"},
  ConvTranspose2d = {"2", "3", "3", "{stride = 2}"}, MaxPool1d = {"2"}, MaxPool2d = {"2"},
  AvgPool2d = {"2"}, AdaptiveAvgPool2d = {"{2, 2}"}, AdaptiveMaxPool2d = {"3"}, BatchNorm1d = {"3"},
  BatchNorm2d = {"2"}, LayerNorm = {"{3}"}, GroupNorm = {"2", "4"}, Dropout = {"0.5"},
  Dropout2d = {"0.5"}, Embedding = {"5", "3"}, RNN = {"3", "4"}, LSTM = {"3", "4", "{batch_first = true}"},
  GRU = {"3", "4", "{num_layers = 2}"}, ReLU = {}, ReLU6 = {}, LeakyReLU = {"0.1"}, ELU = {}, GELU = {},
  SiLU = {}, Sigmoid = {}, Tanh = {}, Softplus = {}, Hardtanh = {"-1", "1"}, Softmax = {"1"},
  LogSoftmax = {"-1"}, Sequential = {"nn.Linear(3, 3)", "nn.ReLU()"}, ModuleList = {"{nn.ReLU()}"},
  ModuleDict = {"{a = nn.ReLU()}"},
}
local LOSSES = {"CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
                "BCELoss", "BCEWithLogitsLoss", "KLDivLoss"}
local FUNCTIONAL = {"adaptive_avg_pool2d", "adaptive_max_pool2d", "avg_pool2d", "batch_norm",
  "bilinear", "binary_cross_entropy", "binary_cross_entropy_with_logits", "conv1d", "conv2d",
  "conv_transpose2d", "cross_entropy", "dropout", "dropout2d", "elu", "embedding", "gelu",
  "group_norm", "hardtanh", "huber_loss", "kl_div", "l1_loss", "layer_norm", "leaky_relu", "linear",
  "log_softmax", "max_pool1d", "max_pool2d", "mse_loss", "nll_loss", "one_hot", "pad", "relu",
  "relu6", "relu_", "sigmoid", "silu", "smooth_l1_loss", "softmax", "softplus", "tanh"}
local OPTIMS = {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"}
local HYPER = {"lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize", "betas", "eps",
               "amsgrad", "alpha", "centered", "lr_decay", "initial_accumulator_value", "rho", "foo"}
local LOADER_OPTS = {"batch_size", "shuffle", "drop_last", "num_workers", "collate_fn", "seed",
                     "pin_memory", "sampler"}
local LAYER_NAMES = {}
for k in pairs(LAYERS) do LAYER_NAMES[#LAYER_NAMES + 1] = k end
table.sort(LAYER_NAMES)

local function hyper_val()
  local r = rnd()
  if r < 0.5 then return num() end
  if r < 0.7 then return pick({"true", "false", "'x'", "{}", "{0.9}", "{0.9, 0.999}", "{2, -1}",
                               "{0/0, 1}", "{1, 1, 1}"}) end
  return pick(HUGE)
end
local function kv_table(keys, val)
  local parts = {}
  for _ = 1, rnd(0, 3) do parts[#parts + 1] = pick(keys) .. " = " .. val() end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local function gen_nn_step(ctx)
  local r = rnd()
  local args = {}
  if r < 0.2 then
    -- construction with random arguments
    local name = pick(LAYER_NAMES)
    for i = 1, rnd(0, 4) do args[i] = chance(0.3) and opts_table(ctx.tensor) or arg_src(ctx) end
    return "function(...) return tostring(nn." .. name .. "(...)) end", args
  elseif r < 0.45 then
    -- forward of a valid module with a random input (and sometimes a random second input)
    local name = pick(LAYER_NAMES)
    local fsrc = string.format("function(x, y) local m = nn.%s(%s); if y == nil then return m(x) end; return m(x, y) end",
                               name, table.concat(LAYERS[name], ", "))
    args[1] = chance(0.85) and ctx.tensor() or arg_src(ctx)
    if chance(0.2) then args[2] = arg_src(ctx) end
    return fsrc, args
  elseif r < 0.58 then
    -- losses: class-index targets in and out of range, mismatched shapes, odd options
    local name = pick(LOSSES)
    local opts_src = kv_table({"reduction", "weight", "ignore_index", "label_smoothing", "delta",
                               "beta", "log_target", "pos_weight"}, function()
      return chance(0.5) and pick({"'mean'", "'sum'", "'none'", "'bad'", "-100", "0.1", "-1", "2"})
        or arg_src(ctx) end)
    args[1] = ctx.tensor()
    args[2] = chance(0.5) and index_tensor() or ctx.tensor()
    return string.format("function(x, y) return nn.%s(%s)(x, y) end", name, opts_src), args
  elseif r < 0.75 then
    local f = pick(FUNCTIONAL)
    args[1] = ctx.tensor()
    for i = 2, rnd(1, 4) do args[i] = chance(0.2) and index_tensor() or arg_src(ctx) end
    return "nn.functional." .. f, args
  elseif r < 0.87 then
    -- optimizers: bad hyperparameters, grads nil / wrong shape / wrong dtype / non-contiguous
    local name = pick(OPTIMS)
    local grad = pick({"nil", "torch.ones(3, 2)", "torch.ones(2, 3)", "torch.ones(6)",
                       "torch.ones(2, 3, {dtype = 'float64'})", "torch.ones(3, 2):t()",
                       "torch.full({2, 3}, 0/0)", "torch.ones(2, 3, {dtype = 'int64'})",
                       "torch.ones(1, 3):expand(2, 3)", "torch.zeros(0)", "torch.tensor(1.5)"})
    local params = pick({"{p}", "{p, p}", "{}", "{{params = {p}, lr = 0.1}}", "{{params = {p}}, {params = {}}}",
                         "p", "{1}", "{{}}", "{torch.zeros(2)}"})
    local fsrc = string.format(
      "function(h, steps) local p = nn.Parameter(torch.randn(2, 3)); p.grad = %s; " ..
      "local o = optim.%s(%s, h); for _ = 1, math.min(3, math.tointeger(steps) or 1) do o:step() end; " ..
      "o:zero_grad(); return o:state_dict() end", grad, name, params)
    args[1] = kv_table(HYPER, hyper_val)
    args[2] = pick({"1", "2", "3", "0"})
    return fsrc, args
  elseif r < 0.95 then
    -- TensorDataset + DataLoader with bad options
    local n = rnd(0, 5)
    args[1] = chance(0.8) and string.format("torch.randn(%d, 2)", n) or ctx.tensor()
    args[2] = chance(0.7) and string.format("torch.arange(0, %d)", chance(0.8) and n or n + 1) or arg_src(ctx)
    args[3] = kv_table(LOADER_OPTS, function()
      return chance(0.6) and pick({"0", "1", "2", "3", "-1", "true", "false", "1.5", "0/0", "2^40",
        "'x'", "function(b) return b end", "function(b) error('user error') end", "{1, 2}"})
        or arg_src(ctx) end)
    return "function(a, b, o) local ds = data.TensorDataset(a, b); local l = data.DataLoader(ds, o); " ..
      "local k = 0; for i, x, y in l:iter() do k = i end; return #l, k, #ds end", args
  else
    -- torch.save / torch.load of random objects
    local objs = {ctx.tensor(), ctx.tensor(), pick(TABLES), "{w = " .. ctx.tensor() .. ", n = 3, s = 'x'}",
                  "{" .. ctx.tensor() .. ", {" .. ctx.tensor() .. "}}", pick(MISC), num(), "nn.Linear(2, 2):state_dict()"}
    args[1] = pick(objs)
    args[2] = pick({"'fuzz_obj.safetensors'", "'fuzz_obj.npy'", "'fuzz_obj'", "''", "'/'",
                    "'no_such_dir/x.safetensors'", "1"})
    return "function(o, p) torch.save(o, p); return torch.load(p) end", args
  end
end

local function gen_step(prev)
  local s = gen_shape()
  local ctx = {shape = s, prev = prev}
  ctx.tensor = function()
    local r = rnd()
    if r < 0.5 then return tensor_of(s) end
    if r < 0.8 then return tensor_of(partner_shape(s)) end
    return tensor_of(gen_shape())
  end
  local fsrc, args = nil, {}
  local nargs = rnd(0, 4)
  if chance(opts.nn) then return gen_nn_step(ctx) end
  local r = rnd()
  if r < 0.40 then
    -- t:method(...): self is nearly always a tensor
    local m = pick(methods)
    fsrc = "torch.Tensor." .. m
    args[1] = chance(0.93) and tensor_of(s) or arg_src(ctx)
    for i = 2, nargs + 1 do args[i] = arg_src(ctx) end
  elseif r < 0.75 then
    local f = pick(torch_fns)
    fsrc = "torch." .. f
    if not f:find("^cuda%.") and chance(0.7) then args[1] = tensor_of(s) end
    for _ = 1, nargs do args[#args + 1] = arg_src(ctx) end
    if f == "set_num_threads" and chance(0.8) then
      -- valid counts above the core count would only fill the process with thread pools
      args = {pick({"0", "-1", "1", "2", "1e12", "math.maxinteger", "math.mininteger", "2^32 + 1",
                    "0/0", "1.5", "'x'", "nil", "2000"})}
    end
  elseif r < 0.83 then
    fsrc = "function(x, y) return " .. pick(METAOPS) .. " end"
    args[1] = chance(0.7) and tensor_of(s) or arg_src(ctx)
    args[2] = arg_src(ctx)
    if chance(0.5) then args[1], args[2] = args[2], args[1] end
  elseif r < 0.92 then
    fsrc = "function(t, k) return t[k] end"
    args[1] = tensor_of(s)
    args[2] = chance(0.5) and arg_src(ctx) or
      "{" .. table.concat((function() local p = {} for i = 1, rnd(0, 4) do
        p[i] = pick({dim(), "{}", "{" .. num() .. ", " .. num() .. "}",
                     "{" .. num() .. ", " .. num() .. ", " .. num() .. "}", index_tensor(),
                     mask_tensor(), "'x'"}) end return p end)(), ", ") .. "}"
  elseif r < 0.97 then
    fsrc = "function(t, k, v) t[k] = v end"
    args[1] = tensor_of(s)
    args[2] = chance(0.3) and pick(ATTRS) and ("'" .. pick(ATTRS) .. "'") or arg_src(ctx)
    args[3] = arg_src(ctx)
  else
    fsrc = "function(t, k) return t[k] end"
    args[1] = tensor_of(s)
    args[2] = "'" .. pick(ATTRS) .. "'"
  end
  return fsrc, args
end

---------------------------------------------------------------------------------------------
-- Running, logging and checking.
local logpath = opts.log or string.format("spec/tmp/fuzz_%d.log", opts.seed)
os.execute("mkdir -p spec/tmp 2>/dev/null")
local log = assert(io.open(logpath, "w"))
log:write(string.format("-- fuzz_api.lua --seed %d: every step as run; replay with nnlua\n" ..
                        "-- (each pcall must return or raise a string error)\n", opts.seed))
log:flush()

local stats = {calls = 0, ok = 0, err = 0, setup_err = 0, iterations = 0}
local bad = {}        -- non-string / empty error values: bugs
local unnamed = {}    -- error messages that do not name the op (report only)
local nunnamed = 0
local fn_cache = {}

local function compile(src, name)
  local f = fn_cache[src]
  if f == nil then
    f = assert(load(src, name, "t"))
    if #src < 200 then fn_cache[src] = f end
  end
  return f
end

local function opname(fsrc)
  return fsrc:match("^torch%.Tensor%.([%w_]+)$") or fsrc:match("^torch%.cuda%.([%w_]+)$")
    or fsrc:match("^torch%.([%w_]+)$")
end

local restore = compile(RESTORE, "=restore")
local t_start = clock()
local budget_ok
if opts.seconds then
  budget_ok = function() return clock() - t_start < opts.seconds end
else
  budget_ok = function() return stats.iterations < opts.iterations end
end

local baseline_mem
local iter = 0
while budget_ok() do
  iter = iter + 1
  stats.iterations = iter
  log:write(string.format("-- iter %d\ndo local R\ntorch.manual_seed(%d)\n", iter, iter))
  local R = nil
  torch.manual_seed(iter)
  for step = 1, rnd(1, opts.steps) do
    local fsrc, args = gen_step(step > 1)
    local n = #args
    for i = 1, n do if args[i] == nil then args[i] = "nil" end end
    local names = {}
    for i = 1, n do names[i] = "a" .. i end
    local setup = "local R = ...\nreturn " .. (n > 0 and table.concat(args, ", ") or "nil")
    -- the statement as written to the log (runnable as is)
    local stmt = string.format("do local F = %s\n  local %s = %s\n  R = select(2, pcall(F%s)) end\n",
      fsrc, n > 0 and table.concat(names, ", ") or "_", n > 0 and table.concat(args, ", ") or "nil",
      n > 0 and (", " .. table.concat(names, ", ")) or "")
    log:write(stmt)
    log:flush()
    local ok, F = pcall(compile, "return " .. fsrc, "=F")
    if ok then ok, F = pcall(F) end
    local chunk = ok and compile(setup, "=setup")
    local packed
    if ok then
      packed = table.pack(pcall(chunk, R))
      ok = packed[1]
    end
    if not ok then
      stats.setup_err = stats.setup_err + 1
    else
      stats.calls = stats.calls + 1
      local t0 = wall()
      local res = table.pack(pcall(F, table.unpack(packed, 2, n + 1)))
      local dt = wall() - t0
      if dt > 0.25 then
        stats.slow = (stats.slow or 0) + 1
        io.stderr:write(string.format("fuzz_api: slow call (%.2f s) at iter %d: %s\n", dt, iter,
                                      stmt:sub(1, 400)))
      end
      if res[1] then
        stats.ok = stats.ok + 1
        R = res[2]
      else
        stats.err = stats.err + 1
        local e = res[2]
        if type(e) ~= "string" or e == "" then
          bad[#bad + 1] = string.format("iter %d: %s returned error value %s (%s)", iter, fsrc,
                                        tostring(e), type(e))
          R = nil
        else
          local name = opname(fsrc)
          if name and not e:find(name, 1, true) and not e:find("user error", 1, true)
             and not e:find("boom", 1, true) then
            nunnamed = nunnamed + 1
            local key = name .. ": " .. e:gsub("%d+", "N"):sub(1, 120)
            unnamed[key] = (unnamed[key] or 0) + 1
          end
          R = nil
        end
      end
    end
    restore()
  end
  log:write("end\n" .. RESTORE .. "\n")
  R = nil
  if iter % 50 == 0 then
    collectgarbage("collect")
  end
end
collectgarbage("collect"); collectgarbage("collect")
log:write("-- done\n")
log:close()

local elapsed = clock() - t_start
print(string.format("fuzz_api: seed %d: %d iterations, %d calls (%d returned, %d raised), " ..
  "%d setups failed, %.1f s cpu", opts.seed, stats.iterations, stats.calls, stats.ok, stats.err,
  stats.setup_err, elapsed))
if not opts.quiet and nunnamed > 0 then
  local keys = {}
  for k, c in pairs(unnamed) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return unnamed[a] > unnamed[b] end)
  print(string.format("fuzz_api: %d errors do not name their op; most common:", nunnamed))
  for i = 1, math.min(#keys, 25) do print(string.format("  %5d  %s", unnamed[keys[i]], keys[i])) end
end
for _, b in ipairs(bad) do print("BAD ERROR: " .. b) end
if #bad > 0 then os.exit(1) end
print("fuzz_api: OK")
