-- Linear algebra: matmul mm bmm mv dot outer addmm vs PyTorch fixtures, errors, dtypes.
local fx = dofile("spec/fixtures/linalg.lua")

local function flat(v, out)
  out = out or {}
  if type(v) == "table" then for _, x in ipairs(v) do flat(x, out) end else out[#out + 1] = v end
  return out
end

local function make(values, shape, dtype)
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  if n == 0 then return torch.zeros(shape, {dtype = dtype}) end
  return torch.tensor(values, {dtype = dtype})
end

local function check(got, want, dtype, what)
  got = flat(got)
  assert.are.equal(#want, #got, what)
  local rtol = dtype == "float32" and 1e-5 or 1e-12
  for i = 1, #want do
    if dtype == "int64" then
      assert.are.equal(want[i], got[i], what)
    else
      local tol = rtol * math.max(1, math.abs(want[i]))
      assert(math.abs(got[i] - want[i]) <= tol, string.format("%s: element %d is %.17g, expected %.17g", what, i, got[i], want[i]))
    end
  end
end

describe("linalg", function()
  it("matches PyTorch for every product, shape and dtype", function()
    for i, c in ipairs(fx.cases) do
      local a, b = make(c.a, c.ashape, c.dtype), make(c.b, c.bshape, c.dtype)
      local out = torch[c.op](a, b)
      local what = string.format("case %d: %s %s", i, c.op, c.dtype)
      assert.are.same(c.shape, flat(out.shape), what)
      assert.are.equal(c.dtype, out.dtype, what)
      check(out:tolist(), c.out, c.dtype, what)
      -- the method form gives the same
      check(a[c.op](a, b):tolist(), c.out, c.dtype, what)
    end
  end)

  it("addmm scales and broadcasts its input (beta = 0 ignores it)", function()
    for i, c in ipairs(fx.addmm) do
      local opts = {dtype = c.dtype}
      local out = torch.addmm(torch.tensor(c.input, opts), torch.tensor(c.m1, opts), torch.tensor(c.m2, opts),
        {beta = c.beta, alpha = c.alpha})
      check(out:tolist(), flat(c.out), c.dtype, "addmm case " .. i)
    end
    local nan = torch.full({2, 2}, 0 / 0)
    local out = torch.addmm(nan, torch.ones(2, 3), torch.ones(3, 2), {beta = 0})
    assert.are.same({{3, 3}, {3, 3}}, out:tolist())
  end)

  it("0-d results, empty dims and k = 0", function()
    local d = torch.dot(torch.tensor({1.0, 2.0}), torch.tensor({3.0, 4.0}))
    assert.are.equal(0, d:dim())
    assert.are.equal(11, d:item())
    local z = torch.matmul(torch.zeros(3, 0), torch.zeros(0, 2))
    assert.are.same({{0, 0}, {0, 0}, {0, 0}}, z:tolist())
    assert.are.same({0, 4}, flat(torch.matmul(torch.zeros(0, 3), torch.ones(3, 4)).shape))
    assert.are.equal(0, torch.dot(torch.zeros(0), torch.zeros(0)):item())
    local zi = torch.mm(torch.zeros(2, 0, {dtype = "int64"}), torch.zeros(0, 2, {dtype = "int64"}))
    assert.are.same({{0, 0}, {0, 0}}, zi:tolist())
  end)

  it("integer products stay integer, exact", function()
    local a = torch.tensor({{1 << 40, 1}, {3, 4}})
    local out = a:mm(torch.tensor({{2}, {5}}))
    assert.are.equal("int64", out.dtype)
    assert.are.same({{(1 << 41) + 5}, {26}}, out:tolist())
    assert.are.equal("int32", torch.tensor({1, 2}, {dtype = "int32"}):dot(torch.tensor({3, 4}, {dtype = "int32"})).dtype)
  end)

  it("outer promotes dtypes", function()
    local o = torch.outer(torch.tensor({1, 2}), torch.tensor({0.5, 1.0}))
    assert.are.equal("float32", o.dtype)
    assert.are.same({{0.5, 1}, {1, 2}}, o:tolist())
  end)

  it("reports shape, rank and dtype errors", function()
    assert.has_error(function() torch.matmul(torch.zeros(2, 3), torch.zeros(4, 5)) end,
      "matmul: cannot multiply shapes [2, 3] and [4, 5] (3 ~= 4)")
    assert.has_error(function() torch.matmul(torch.zeros(3), torch.zeros(4)) end,
      "matmul: cannot multiply shapes [3] and [4] (3 ~= 4)")
    assert.has_error(function() torch.matmul(torch.zeros(2, 2, 3), torch.zeros(3, 3, 2)) end,
      "matmul: batch dims of shapes [2, 2, 3] and [3, 3, 2] cannot be broadcast")
    assert.has_error(function() torch.matmul(torch.zeros(2, 3), torch.zeros(3, {dtype = "float64"})) end,
      "matmul: expected both tensors to have the same dtype, got float32 and float64")
    assert.has_error(function() torch.matmul(torch.tensor(1.0), torch.zeros(3)) end,
      "matmul: both arguments need to be at least 1-D, but they are 0-D and 1-D")
    assert.has_error(function() torch.mm(torch.zeros(2, 3, 4), torch.zeros(4, 5)) end,
      "mm: expected 2-D tensors, but got 3-D and 2-D")
    assert.has_error(function() torch.bmm(torch.zeros(2, 3, 4), torch.zeros(3, 4, 5)) end,
      "bmm: batch sizes of shapes [2, 3, 4] and [3, 4, 5] differ (2 ~= 3)")
    assert.has_error(function() torch.mv(torch.zeros(2, 3), torch.zeros(2)) end,
      "mv: cannot multiply shapes [2, 3] and [2] (3 ~= 2)")
    assert.has_error(function() torch.dot(torch.zeros(2, 3), torch.zeros(2)) end,
      "dot: expected 1-D tensors, but got 2-D and 1-D")
    assert.has_error(function() torch.addmm(torch.zeros(3), torch.zeros(2, 3), torch.zeros(3, 4)) end,
      "addmm: input of shape [3] cannot be broadcast to the product's shape [2, 4]")
    assert.has_error(function() torch.matmul(torch.tensor({true}), torch.tensor({true})) end,
      "matmul: not implemented for bool tensors")
  end)

  it("sets and reads the thread count", function()
    local n = torch.get_num_threads()
    assert.is_true(n >= 1)
    torch.set_num_threads(1)
    assert.are.equal(1, torch.get_num_threads())
    assert.are.same({{4}}, torch.mm(torch.ones(1, 4), torch.ones(4, 1)):tolist())
    torch.set_num_threads(n)
    assert.has_error(function() torch.set_num_threads(0) end,
      "set_num_threads: expected a positive number of threads (got 0)")
  end)
end)
