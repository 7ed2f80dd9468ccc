-- Creation: arange linspace eye full empty *_like, options, vs PyTorch fixtures.
local fx = dofile("spec/fixtures/linalg.lua").create

local function close(got, want, rtol)
  assert.are.equal(#want, #got)
  for i = 1, #want do
    assert(math.abs(got[i] - want[i]) <= rtol * math.max(1, math.abs(want[i])),
      string.format("element %d: %.17g vs %.17g", i, got[i], want[i]))
  end
end

describe("creation", function()
  it("arange like PyTorch: half-open, int64 for integer args", function()
    assert.are.same(fx.arange5, torch.arange(5):tolist())
    assert.are.equal("int64", torch.arange(5).dtype)
    assert.are.same(fx.arange_2_10_3, torch.arange(2, 10, 3):tolist())
    assert.are.same(fx.arange_neg, torch.arange(5, -3, -2):tolist())
    local f = torch.arange(0, 1, 0.1)
    assert.are.equal("float32", f.dtype)
    assert.are.same(fx.arange_float, f:tolist())
    -- float64 values within an ulp or two: PyTorch's vectorised loop rounds differently
    close(torch.arange(-1.5, 2.2, 0.3, {dtype = "float64"}):tolist(), fx.arange_float64, 1e-15)
    assert.are.same({}, torch.arange(0):tolist())
    assert.are.equal("float64", torch.arange(3, {dtype = "float64"}).dtype)
    assert.has_error(function() torch.arange(0, 5, 0) end, "arange: step must be nonzero and finite (got 0)")
    assert.has_error(function() torch.arange(0, 5, -1) end,
      "arange: upper bound and larger bound inconsistent with step sign (start 0, end 5, step -1)")
  end)

  it("linspace has exact ends and PyTorch's values", function()
    close(torch.linspace(-1, 1, 7):tolist(), fx.linspace, 1e-7)
    close(torch.linspace(0, 1, 11, {dtype = "float64"}):tolist(), fx.linspace64, 1e-15)
    local big = torch.linspace(3, 10, 1000, {dtype = "float64"}):tolist()
    close(big, fx.linspace_big, 1e-15)
    assert.are.equal(10, big[1000])
    assert.are.same({2}, torch.linspace(2, 5, 1):tolist())
    assert.are.same({}, torch.linspace(2, 5, 0):tolist())
    assert.has_error(function() torch.linspace(0, 1, -1) end, "linspace: number of steps must be non-negative (got -1)")
  end)

  it("fill_ with 0 (a memset on contiguous CPU tensors) and -0.0, every dtype, views untouched outside", function()
    for _, dt in ipairs({ "float32", "float64", "int64", "int32", "uint8", "bool" }) do
      local t = torch.ones(3, 4, { dtype = dt })
      t:fill_(0)
      assert.is_true(t:eq(torch.zeros(3, 4, { dtype = dt })):all():item(), dt)
    end
    local z = torch.ones(5):fill_(-0.0)
    assert.are.equal(-math.huge, 1 / z[1]:item()) -- the sign of zero is kept (not a memset)
    local big = torch.ones(4, 6)
    big[{ {}, { 2, 3 } }]:fill_(0) -- a strided view: only its elements
    assert.are.equal(16, big:sum():item())
    big[2]:fill_(0) -- a contiguous view (one row)
    assert.are.same({ 0, 0, 0, 0, 0, 0 }, big[2]:tolist())
    assert.are.equal(12, big:sum():item())
  end)

  it("eye", function()
    assert.are.same(fx.eye3, torch.eye(3):tolist())
    assert.are.same(fx.eye23, torch.eye(2, 3):tolist())
    assert.are.equal("int64", torch.eye(2, {dtype = "int64"}).dtype)
    assert.are.same({{1, 0}, {0, 1}, {0, 0}}, torch.eye(3, 2):tolist())
  end)

  it("full infers dtypes like PyTorch and fills booleans", function()
    assert.are.equal("int64", torch.full({2}, 3).dtype)
    assert.are.equal("float32", torch.full({2}, 3.5).dtype)
    local b = torch.full({2, 2}, true)
    assert.are.equal("bool", b.dtype)
    assert.are.same({{true, true}, {true, true}}, b:tolist())
    assert.are.same({false}, torch.full({1}, false):tolist())
    assert.are.same({9007199254740993}, torch.full({1}, 9007199254740993):tolist())
    assert.are.same({2.5, 2.5}, torch.full({2}, 2.5, {dtype = "float64"}):tolist())
    assert.are.same({2, 2}, torch.full({2}, 2.9, {dtype = "int64"}):tolist())
  end)

  it("empty and the *_like family keep shape, dtype and device", function()
    local e = torch.empty(2, 3)
    assert.are.same({2, 3}, {e:size(1), e:size(2)})
    assert.are.equal("float32", e.dtype)
    local src = torch.tensor({{1, 2, 3}})
    assert.are.same({{0, 0, 0}}, torch.zeros_like(src):tolist())
    assert.are.equal("int64", torch.zeros_like(src).dtype)
    assert.are.same({{1, 1, 1}}, torch.ones_like(src):tolist())
    assert.are.same({{7, 7, 7}}, torch.full_like(src, 7):tolist())
    assert.are.equal("float64", torch.ones_like(src, {dtype = "float64"}).dtype)
    assert.are.equal("cpu", torch.empty_like(src).device)
    assert.are.equal(3, torch.empty_like(src):numel())
    local r = torch.rand_like(torch.zeros(4, 5))
    assert.are.equal(20, r:numel())
    assert.are.equal("float64", torch.randn_like(torch.zeros(3, {dtype = "float64"})).dtype)
    assert.has_error(function() torch.rand_like(src) end, "rand: expected a floating point dtype, got int64")
  end)

  it("requires_grad option on floating dtypes only", function()
    assert.has_error(function() torch.arange(3, {requires_grad = true}) end,
      "arange: only tensors of floating point dtype can require gradients (got int64)")
    local ok = pcall(torch.zeros, 2, {requires_grad = true})
    assert.is_true(ok)
  end)

  it("set_default_device: cpu by default, checked names, a GPU required for cuda", function()
    local before = torch.get_default_device()
    if (os.getenv("NNLUA_TEST_DEVICE") or "") == "" then assert.are.equal("cpu", before) end
    torch.set_default_device("cpu")
    assert.are.equal("cpu", torch.get_default_device())
    assert.are.equal("cpu", torch.zeros(2).device)
    assert.has_error(function() torch.set_default_device("tpu") end,
      'unknown device \'tpu\' (expected "cpu", "cuda" or "cuda:N")')
    if not torch.cuda.is_available() then
      assert.has_error(function() torch.set_default_device("cuda") end,
        "set_default_device: 'cuda' needs a GPU, but torch.cuda.is_available() is false")
      assert.are.equal("cpu", torch.get_default_device()) -- unchanged by the failed call
    else
      local n = torch.cuda.device_count()
      assert.has_error(function() torch.set_default_device("cuda:" .. n) end)
    end
    torch.set_default_device(before)
  end)
end)
