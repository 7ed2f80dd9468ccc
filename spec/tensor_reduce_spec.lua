-- Reduce family: sum mean prod std var norm logsumexp amax amin all any max min argmax argmin
-- cumsum cumprod softmax log_softmax, checked against PyTorch values (spec/fixtures/reduce.lua,
-- written by spec/fixtures/gen_reduce.py) plus argument forms, errors and large sums.
local cases = dofile("spec/fixtures/reduce.lua")
local flat = torch._flat_values

local function build(c)
  if c.x == nil then return torch.zeros(c.shape, {dtype = c.dtype}) end
  return torch.tensor(c.x, {dtype = c.dtype})
end

local function same_shape(t, shape)
  local s = t.shape
  if #s ~= #shape then return false end
  for i = 1, #shape do if s[i] ~= shape[i] then return false end end
  return true
end

-- Compares flat values: NaN equals NaN, infinities exactly, floats within tolerance.
local function check_values(got, want, dtype, what)
  assert(#got == #want, what .. ": " .. #got .. " values, expected " .. #want)
  local rtol = dtype == "float64" and 1e-12 or 1e-5
  for i = 1, #want do
    local g, w = got[i], want[i]
    local ok
    if type(w) == "number" and w ~= w then ok = g ~= g
    elseif type(w) == "number" and (w == math.huge or w == -math.huge) then ok = g == w
    elseif type(w) == "number" and math.type(w) == "float" then ok = math.abs(g - w) <= 1e-6 + rtol * math.abs(w)
    else ok = g == w end
    assert(ok, string.format("%s: element %d is %s, expected %s", what, i, tostring(g), tostring(w)))
  end
end

local function shape_str(shape) return "[" .. table.concat(shape, ", ") .. "]" end

describe("reductions match PyTorch", function()
  for _, c in ipairs(cases) do
    it(c.name, function()
      local x = build(c)
      local args = c.args
      local r, idx = x[c.op](x, table.unpack(args, 1, #args))
      -- and the torch.op form gives the same
      local r2 = torch[c.op](x, table.unpack(args, 1, #args))
      assert.are.equal(c.odtype, r.dtype)
      assert(same_shape(r, c.oshape), c.name .. ": shape " .. tostring(r.shape) .. ", expected " .. shape_str(c.oshape))
      check_values(flat(r), c.out, c.odtype, c.name)
      check_values(flat(r2), c.out, c.odtype, c.name .. " (torch." .. c.op .. ")")
      if c.idx then
        assert.are.equal("int64", idx.dtype)
        assert(same_shape(idx, c.oshape))
        check_values(flat(idx), c.idx, "int64", c.name .. " indices")
      end
    end)
  end
end)

describe("reduce argument forms", function()
  local t = torch.tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}})

  it("accepts positional and options forms alike", function()
    assert.are.same(flat(t:sum(2, true)), flat(t:sum({dim = 2, keepdim = true})))
    assert.are.same(flat(t:sum(2, true)), flat(t:sum(2, {keepdim = true})))
    assert(same_shape(t:sum(2, true), {2, 1}))
    assert(same_shape(t:sum({1, 2}), {}))
    assert(same_shape(t:mean({1, 2}, true), {1, 1}))
    assert.are.same({6.0, 15.0}, flat(torch.sum(t, -1)))
    local v, i = t:max({dim = 1, keepdim = true})
    assert(same_shape(v, {1, 3}))
    assert.are.same({2, 2, 2}, flat(i))
    assert.are.same({3, 3}, flat(t:argmax({dim = 2, keepdim = true})))
    assert.are.same({2.5, 3.5, 4.5}, flat(t:mean(1)))
  end)

  it("var and std take unbiased positionally or by name", function()
    assert.are.same(flat(t:var(false)), flat(t:var({unbiased = false})))
    assert.are.same(flat(t:std(2, false)), flat(t:std({dim = 2, correction = 0})))
    assert.are.near(3.5, flat(t:var())[1], 1e-6)
  end)

  it("max and min with no dim give a 0-d tensor", function()
    local m = t:max()
    assert.are.equal(0, m:dim())
    assert.are.same({6.0}, flat(m))
    assert.are.same({1.0}, flat(torch.min(t)))
  end)

  it("argmax with no dim is a flat 1-based index", function()
    assert.are.same({6}, flat(t:argmax()))
    assert.are.same({1}, flat(t:argmin()))
    assert(same_shape(t:argmax(nil, true), {1, 1}))
  end)

  it("max with a tensor argument is elementwise (needs maximum)", function()
    if torch.maximum then
      assert.are.same({6.0, 5.0, 6.0}, flat(torch.tensor({1.0, 5.0, 6.0}):max(torch.tensor({6.0, 2.0, 3.0}))))
    else
      assert.has_error(function() t:max(t) end,
        "max: elementwise max with a tensor needs torch.maximum, which is not available")
    end
  end)

  it("sums 1e7 float32 elements accurately", function()
    local big = torch.full({10000000}, 0.1)
    local s = flat(big:sum())[1]
    assert(math.abs(s - 1000000.0) < 1, "sum of 1e7 x 0.1 is " .. s)
    assert(math.abs(flat(big:mean())[1] - 0.1) < 1e-7)
  end)

  it("reduces large tensors over every dim (parallel paths) like the serial result", function()
    local x = torch.full({300, 400}, 0.5)
    assert.are.same(300 * 0.5, flat(x:sum(1))[7])
    assert.are.same(400 * 0.5, flat(x:sum(2))[299])
    assert.are.same(120000 * 0.5, flat(x:sum())[1])
    local sm = flat(x:softmax(1))
    assert(math.abs(sm[1] - 1 / 300) < 1e-7)
    local c = flat(x:cumsum(1))
    assert.are.same(300 * 0.5, c[#c])
  end)
end)

describe("reduce errors", function()
  local t = torch.zeros(2, 3)
  it("names the op and the valid dim range", function()
    assert.has_error(function() t:sum(3) end, "sum: dim 3 out of range for a tensor of 2 dims (expected 1..2 or -2..-1)")
    assert.has_error(function() t:max(-3) end, "max: dim -3 out of range for a tensor of 2 dims (expected 1..2 or -2..-1)")
    assert.has_error(function() t:softmax(0) end, "softmax: dim 0 out of range for a tensor of 2 dims (expected 1..2 or -2..-1)")
    assert.has_error(function() t:cumsum(5) end, "cumsum: dim 5 out of range for a tensor of 2 dims (expected 1..2 or -2..-1)")
    assert.has_error(function() t:sum({1, 1}) end, "sum: dim 1 appears multiple times in the list of dims")
    assert.has_error(function() t:mean({1, -2}) end, "mean: dim -2 appears multiple times in the list of dims")
  end)

  it("requires a dim for softmax, log_softmax, cumsum and cumprod", function()
    assert.has_error(function() t:softmax() end, "softmax: dim is required (e.g. t:softmax(-1))")
    assert.has_error(function() t:log_softmax() end, "log_softmax: dim is required (e.g. t:log_softmax(-1))")
    assert.has_error(function() t:cumsum() end, "cumsum: dim is required (e.g. t:cumsum(-1))")
  end)

  it("rejects integer input where PyTorch does", function()
    local i = torch.tensor({1, 2, 3})
    assert.has_error(function() i:mean() end,
      "mean: could not infer output dtype: input dtype must be floating point (got int64); cast first or pass {dtype=}")
    assert.has_error(function() i:var() end, "var/std: only floating point dtypes are supported (got int64)")
    assert.has_error(function() i:std() end, "std: only floating point dtypes are supported (got int64)")
    assert.has_error(function() i:norm() end, "norm: input dtype should be floating point (got int64)")
    assert.has_error(function() i:softmax(1) end, "softmax: expected a floating point tensor (got int64)")
    assert.has_error(function() i:norm("nuc") end, 'norm: p must be a number or "fro" (got "nuc")')
  end)

  it("rejects max/min/amax/argmax over nothing", function()
    local e = torch.zeros(0, 3)
    assert.has_error(function() e:max() end,
      "max: expected reduction dim to be specified for input.numel() == 0; specify the reduction dim with the 'dim' argument")
    assert.has_error(function() e:max(1) end, "max: expected reduction dim 1 to have non-zero size")
    assert.has_error(function() e:amin(1) end, "amin: expected reduction dim 1 to have non-zero size")
    assert.has_error(function() e:amax() end, "amax: expected reduction dim 1 to have non-zero size")
    assert.has_error(function() e:argmax() end, "argmax: expected reduction dim to be specified for input.numel() == 0")
  end)

  it("checks argument types", function()
    assert.has_error(function() t:sum("x") end, "sum: dim must be a number or a list of numbers (got string)")
    assert.has_error(function() t:sum(1.5) end, "sum: dim must be an integer (got 1.5)")
  end)
end)
