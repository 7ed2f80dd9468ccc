-- Random: one seeded Philox generator; determinism and distribution checks.
local function stats(t)
  local v = t:double():tolist()
  local s, s2 = 0, 0
  for _, x in ipairs(v) do s = s + x; s2 = s2 + x * x end
  local m = s / #v
  return m, math.sqrt(s2 / #v - m * m), v
end

describe("random", function()
  it("same seed -> identical tensors, different seeds differ", function()
    torch.manual_seed(42)
    local a, an = torch.rand(100), torch.randn(50)
    torch.manual_seed(42)
    local b, bn = torch.rand(100), torch.randn(50)
    assert.are.same(a:tolist(), b:tolist())
    assert.are.same(an:tolist(), bn:tolist())
    assert.are.equal(42, torch.initial_seed())
    torch.manual_seed(43)
    assert.are_not.same(a:tolist(), torch.rand(100):tolist())
    -- consecutive draws differ
    assert.are_not.same(torch.rand(10):tolist(), torch.rand(10):tolist())
  end)

  it("rand is uniform on [0, 1) and uniform_(a, b) on [a, b)", function()
    torch.manual_seed(1)
    local m, s, v = stats(torch.rand(100000))
    assert.is_true(math.abs(m - 0.5) < 0.01)
    assert.is_true(math.abs(s - math.sqrt(1 / 12)) < 0.01)
    for _, x in ipairs(v) do assert(x >= 0 and x < 1) end
    local u = torch.empty(100000, {dtype = "float64"}):uniform_(-2, 3)
    local m2, s2, v2 = stats(u)
    assert.is_true(math.abs(m2 - 0.5) < 0.05)
    assert.is_true(math.abs(s2 - 5 / math.sqrt(12)) < 0.05)
    for _, x in ipairs(v2) do assert(x >= -2 and x < 3) end
  end)

  it("randn and normal_ have the right mean and std", function()
    torch.manual_seed(2)
    local m, s = stats(torch.randn(100000))
    assert.is_true(math.abs(m) < 0.02)
    assert.is_true(math.abs(s - 1) < 0.02)
    local n = torch.empty(100000, {dtype = "float64"}):normal_(3, 0.5)
    local m2, s2 = stats(n)
    assert.is_true(math.abs(m2 - 3) < 0.01)
    assert.is_true(math.abs(s2 - 0.5) < 0.01)
  end)

  it("bernoulli_ with a number or a tensor p", function()
    torch.manual_seed(3)
    local m = stats(torch.empty(100000):bernoulli_(0.3))
    assert.is_true(math.abs(m - 0.3) < 0.01)
    local b = torch.empty(4):bernoulli_(torch.tensor({0.0, 1.0, 0.0, 1.0}))
    assert.are.same({0, 1, 0, 1}, b:tolist())
    local bb = torch.bernoulli(torch.tensor({1.0, 0.0}))
    assert.are.same({1, 0}, bb:tolist())
    assert.has_error(function() torch.empty(2):bernoulli_(1.5) end, "bernoulli_: expects p to be in [0, 1], but got p=1.5")
  end)

  it("randint, random_ and randperm", function()
    torch.manual_seed(4)
    local r = torch.randint(3, 7, {20000})
    assert.are.equal("int64", r.dtype)
    local counts = {}
    for _, x in ipairs(r:tolist()) do
      assert(math.type(x) == "integer" and x >= 3 and x < 7)
      counts[x] = (counts[x] or 0) + 1
    end
    for k = 3, 6 do assert.is_true(math.abs(counts[k] / 20000 - 0.25) < 0.02) end
    local r2 = torch.randint(5, {2, 3})
    assert.are.same({2, 3}, {r2:size(1), r2:size(2)})
    for _, row in ipairs(r2:tolist()) do for _, x in ipairs(row) do assert(x >= 0 and x < 5) end end
    assert.has_error(function() torch.randint(5, 5, {2}) end, "randint: expects from < to, got from=5 and to=5")
    local p = torch.randperm(50)
    assert.are.equal("int64", p.dtype)
    local seen, v = {}, p:tolist()
    for _, x in ipairs(v) do seen[x] = true end
    for i = 1, 50 do assert.is_true(seen[i]) end
    torch.manual_seed(5)
    local q1 = torch.randperm(20):tolist()
    torch.manual_seed(5)
    assert.are.same(q1, torch.randperm(20):tolist())
    local t = torch.zeros(1000, {dtype = "int64"}):random_(10)
    for _, x in ipairs(t:tolist()) do assert(x >= 0 and x < 10) end
  end)

  it("rejects integer dtypes and bad parameters", function()
    assert.has_error(function() torch.zeros(2, {dtype = "int64"}):uniform_() end,
      "uniform_: expected a floating point tensor, got int64")
    assert.has_error(function() torch.zeros(2):normal_(0, -1) end, "normal_: expects std >= 0.0, but found std -1")
    assert.has_error(function() torch.zeros(2):uniform_(2, 1) end, "uniform_: expects from <= to, got from=2 and to=1")
  end)
end)
