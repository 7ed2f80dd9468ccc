-- Regression cases found by the API fuzzer (spec/fuzz/fuzz_api.lua): each is the call that
-- crashed or tripped AddressSanitizer/UBSan, now asserting a clean error or PyTorch's result.

local mn, mx = math.mininteger, math.maxinteger

describe("fuzz regressions", function()
  it("bernoulli with p out of [0, 1]: error names the value (was a use-after-free)", function()
    assert.has_error(function() torch.bernoulli(torch.arange(0, 4):float()[{{1, 4, 2}}]) end,
      "bernoulli_: expects p to be in [0, 1], but got p=2")
    assert.has_error(function() torch.zeros(4, 4, {dtype = "bool"}):bernoulli_(torch.tensor({-1.5})) end,
      "bernoulli_: expects p to be in [0, 1], but got p=-1.5")
    assert.has_error(function() torch.randn(1, 5):double():expand(5, 5):mul(0):add(7):bernoulli() end)
  end)

  it("pooling with huge kernel/stride/dilation: clean error (was signed overflow in the output size)", function()
    local F = nn.functional
    local x = torch.arange(0, 2):reshape({1, 2, 1}):double()
    assert.has_error(function() F.max_pool2d(x, {mx, 2}, 2 ^ 40) end)
    assert.has_error(function() F.max_pool2d(x, {mx, 2}, {mx, mx}) end)
    assert.has_error(function() F.max_pool2d(x, 2, {stride = 1, dilation = mx}) end)
    -- ceil_mode: one window that starts inside and is clipped to the input (PyTorch 1.13's
    -- formula gives the same single window; its own max_pool1d segfaults on this call)
    assert.same({ { { 0.5 } } }, F.avg_pool2d(x, {mx, mx}, {ceil_mode = true, stride = mx}):tolist())
    assert.same({ { { 3 } } }, F.max_pool1d(torch.arange(0, 4):reshape(1, 1, 4):float(), mx,
      {stride = mx, ceil_mode = true}):tolist())
    -- huge strides that still give one window are fine, as in PyTorch
    local y = F.max_pool2d(torch.arange(1, 5):reshape(1, 1, 2, 2):float(), 2, {stride = mx})
    assert.same({ { { { 4 } } } }, y:tolist())
  end)

  it("convolutions with huge stride/padding/dilation: clean errors (was signed overflow in the sizes)", function()
    local F = nn.functional
    local x, w = torch.randn(1, 1, 4, 4), torch.randn(1, 1, 2, 2)
    assert.has_error(function() F.conv2d(x, w, nil, {padding = mx}) end,
      "conv2d: padding 9223372036854775807x9223372036854775807 is too large for input [1, 1, 4, 4]")
    assert.has_error(function() F.conv2d(x, w, nil, {dilation = mx}) end,
      "conv2d: dilated kernel size is too large (dilation 9223372036854775807x9223372036854775807, kernel 2x2)")
    assert.has_error(function() F.conv_transpose2d(x, w, nil, {stride = mx}) end,
      "conv_transpose2d: output size is too large (input [1, 1, 4, 4], weight [1, 1, 2, 2], stride 9223372036854775807x9223372036854775807)")
    assert.has_error(function() F.conv_transpose2d(x, w, nil, {padding = mx}) end,
      "conv_transpose2d: output size -4611686018427387904x-4611686018427387904 is too small (input [1, 1, 4, 4], weight [1, 1, 2, 2])")
    assert.has_error(function() F.conv1d(torch.randn(1, 1, 4), torch.randn(1, 1, 2), nil, {stride = mx, padding = mx}) end)
    -- a huge stride alone is one output position, as in PyTorch
    local y = F.conv2d(x, w, nil, {stride = mx})
    assert.same({1, 1, 1, 1}, {y:size(1), y:size(2), y:size(3), y:size(4)})
    assert.is_true(math.abs(y:item() - (x[{{}, {}, {1, 2}, {1, 2}}] * w):sum():item()) < 1e-5)
  end)

  it("out-of-range indices near math.mininteger name the value given (was signed overflow in the message)", function()
    local m = nn.Embedding(5, 3)
    assert.has_error(function() m(torch.tensor({mn, 2})) end,
      "embedding: index -9223372036854775808 is out of range for 5 rows (expected 1..5)")
    assert.has_error(function() m(torch.full({2}, 1e30, {dtype = "int64"})) end)
    assert.has_error(function() nn.functional.cross_entropy(torch.zeros(2, 3), torch.tensor({mn, 1})) end)
    assert.has_error(function() nn.functional.one_hot(torch.tensor({mn}), 3) end)
  end)

  it("int64 min with divisor -1: fmod/remainder 0, floor_divide wraps (was SIGFPE)", function()
    local a = torch.tensor({mn, 7, -7})
    assert.same({0, 0, 0}, torch.fmod(a, -1):tolist())
    assert.same({0, 0, 0}, a:fmod(torch.tensor(-1)):tolist())
    assert.same({0, 0, 0}, torch.remainder(a, -1):tolist())
    assert.same({mn, -7, 7}, torch.floor_divide(a, -1):tolist())
    assert.same({mn, -7, 7}, (a // -1):tolist())
    assert.same({0, 0, 0}, (a % -1):tolist())
    local i32 = torch.tensor({-2147483648, 5}, {dtype = "int32"})
    assert.same({-2147483648, -5}, (i32 // -1):tolist())
    assert.same({0, 0}, torch.fmod(i32, -1):tolist())
  end)

  it("neg/abs of int64 min wrap like PyTorch (was signed overflow)", function()
    assert.same({mn, -3}, torch.tensor({mn, 3}):neg():tolist())
    assert.same({mn, 3}, torch.tensor({mn, -3}):abs():tolist())
    assert.same({mn}, (-torch.tensor({mn})):tolist())
  end)

  it("integer sums wrap on overflow (was signed overflow in the kernel)", function()
    assert.equal(0, torch.tensor({mn, mn}):sum():item())
    assert.equal(mn, torch.tensor({mx, 1}):sum():item())
    assert.same({mx, mn}, torch.tensor({mx, 1}):cumsum(1):tolist())
  end)

  it("view/reshape with a shape whose product overflows int64: clean error", function()
    assert.has_error(function() torch.zeros(4):view(2^62, 4) end,
      "view: shape [4611686018427387904, 4] is too large")
    assert.has_error(function() torch.zeros(4):reshape(mx, 2) end,
      "reshape: shape [9223372036854775807, 2] is too large")
    assert.has_error(function() torch.zeros(8):view(-1, 2^40, 2^40) end,
      "view: shape [-1, 1099511627776, 1099511627776] is too large")
  end)

  it("t[{{a, b, huge_step}}] selects one element (was overflow of stride * step)", function()
    local t = torch.arange(0, 10):reshape(5, 2)
    local v = t[{{1, 1, mx - 1}}]
    assert.same({{0, 1}}, v:tolist())
    assert.same({{4, 5}}, t[{{3, 5, mx}}]:tolist())
    assert.has_error(function() return t[{{1, 2, mn}}] end,
      "t[...]: range step must be positive (got -9223372036854775808)")
    assert.has_error(function() return t[{{1, 2^40}}] end,
      "t[...]: range {1, 1099511627776} is out of range for dim 1 of size 5")
  end)

  it("set_num_threads rejects counts that do not fit (was truncated to int)", function()
    assert.has_error(function() torch.set_num_threads(2^32 + 1) end,
      "set_num_threads: at most 1024 threads (got 4294967297)")
    assert.has_error(function() torch.set_num_threads(mx) end,
      "set_num_threads: at most 1024 threads (got 9223372036854775807)")
    assert.has_error(function() torch.set_num_threads(mn) end,
      "set_num_threads: expected a positive number of threads (got -9223372036854775808)")
  end)

  it("_print_data with huge edgeitems keeps every element (was overflow of 2 * e)", function()
    local d = torch._print_data(torch.full({1, 4, 1}, 3, {dtype = "uint8"}), 2^62, true)
    assert.same({3, 3, 3, 3}, d)
  end)

  it("huge sizes are clean errors, not aborts", function()
    assert.has_error(function() torch.zeros(1e12) end)
    assert.has_error(function() torch.randperm(2^40) end)
    assert.has_error(function() torch.zeros(2^62, 2^62) end,
      "tensor of shape [4611686018427387904, 4611686018427387904] is too large")
    local ok, e = pcall(torch.zeros, 1e12)
    assert.is_false(ok)
    assert.truthy(tostring(e):find("out of memory", 1, true) or tostring(e):find("too large", 1, true), e)
  end)

  it("split/chunk with huge sizes (was overflow of size + n - 1)", function()
    local pieces = torch.chunk(torch.arange(0, 3), mx)
    assert.equal(3, #pieces)
    assert.same({2}, pieces[3]:tolist())
    local sp = torch.split(torch.arange(0, 3), mx)
    assert.equal(1, #sp)
    assert.same({0, 1, 2}, sp[1]:tolist())
  end)

  it("tile with huge repeats: clean error (was overflow of size * reps)", function()
    assert.has_error(function() torch.tile(torch.zeros(5), {mx}) end,
      "tile: result of shape [5] tiled [9223372036854775807] is too large")
  end)

  it("int64 min as an index: clean out-of-range error (was overflow of index - 1)", function()
    assert.has_error(function() torch.index_select(torch.zeros(3), 1, torch.tensor({mn})) end)
    assert.has_error(function() return torch.zeros(3)[torch.tensor({mn})] end)
  end)

  it("empty tensor with an absurd size: clean error (was stride * itemsize overflow)", function()
    assert.has_error(function() torch.eye(0, 2^62) end,
      "tensor of shape [0, 4611686018427387904] is too large")
    local z = torch.zeros(0, 5)
    assert.same({0, 5}, {z:size(1), z:size(2)})
  end)
  it("F.pad with a huge padding: clean error (was signed overflow)", function()
    assert.has_error(function() nn.functional.pad(torch.zeros(2), {mx, 2}) end,
      "pad: padding (9223372036854775807, 2) for dim 1 of input [2] is too large")
  end)

  it("nn.RNN with a huge num_layers: clean error (was an endless loop)", function()
    assert.has_error(function() nn.RNN(0, 1, mx) end,
      "RNN: num_layers=9223372036854775807 with input_size=0, hidden_size=1 is too large")
  end)

  it("loss constructors take an empty options table", function()
    local l = nn.CrossEntropyLoss({})
    assert.is_true(math.abs(l(torch.zeros(1, 2), torch.tensor({1})):item() - math.log(2)) < 1e-6)
  end)

  it("CrossEntropyLoss with ignore_index = math.mininteger (was a signed overflow zero-basing it)", function()
    local l = nn.CrossEntropyLoss({ ignore_index = mn })
    local x = torch.zeros(2, 3)
    assert.is_true(math.abs(l(x, torch.tensor({ 1, 3 })):item() - math.log(3)) < 1e-6)
    assert.has_error(function() l(x, torch.tensor({ 1, 4 })) end)
  end)

  it("file readers: IDX dims whose product overflows, PNG sizes beyond the data", function()
    os.execute("mkdir -p spec/tmp")
    local p = "spec/tmp/regress_big.idx"
    local f = io.open(p, "wb")
    f:write("\0\0\8\4" .. ("\255\255\255\255"):rep(4) .. "x"); f:close()
    assert.has_error(function() require("data._C").read_idx(p) end,
      p .. ": truncated: header dims [4294967295, 4294967295, 4294967295, 4294967295] need more than 2^63 data bytes, the file has 1")
    os.remove(p)
  end)

  it("one_hot with a negative class in a strided input names the value (was a use-after-free, seed 9002)", function()
    local idx = torch.tensor({ { 1, -2 }, { 0, 3 } }):t() -- transposed: one_hot reads a contiguous copy
    assert.has_error(function() torch._nn.one_hot(idx, 5) end,
      "one_hot: class values must be non-negative (1-based: at least 1), got -1")
  end)

  it("expand to a shape whose element count overflows: clean error (was signed overflow, seed 9001)", function()
    assert.has_error(function() torch.randn({}):expand({ mx, 2 }) end,
      "tensor of shape [9223372036854775807, 2] is too large")
    assert.same({ 2 ^ 40, 8 }, torch.randn({}):expand({ 2 ^ 40, 8 }):size()) -- large views that fit stay valid
    -- (sizes whose element count times 16 bytes passes 2^63 are refused, as for new tensors: stricter than PyTorch)
  end)

  it("split sizes whose sum passes 2^63 and embedding's padding_idx at the integer limit (were signed overflows, seeds 31/32)", function()
    assert.has_error(function() torch.arange(0, 10):reshape({ 5, 1, 2 }):split({ mx, 2 }) end,
      "split: split sizes must sum exactly to 5 (the size of dim 1), but their sum exceeds 2^63")
    -- torch._nn.embedding takes the zero-based padding_idx; the message shows it one-based
    assert.has_error(function() torch._nn.embedding(torch.tensor({ 1 }), torch.randn(3, 2):requires_grad_(), mx) end,
      "embedding: padding_idx " .. mn .. " is out of range for 3 rows")
  end)
end)
