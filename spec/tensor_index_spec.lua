-- Indexing t[...] (get and set) and the index ops (lt_index.c, tensor/ops_index.c).
-- Values of the index ops and of t[key] reads against PyTorch live in tensor_shape_spec.lua
-- (fixtures/shape.lua); this spec covers assignment, in-place ops and error messages.
local V = torch._flat_values

local function plain(s) local r = {} for i = 1, #s do r[i] = s[i] end return r end
local function m34() return torch.tensor({{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}}) end

describe("tensor indexing", function()
  it("t[i] selects along dim 1 as a view; 0-d for a 1-D tensor", function()
    local x = m34()
    assert.are.same({5, 6, 7, 8}, V(x[2]))
    assert.are.same({9, 10, 11, 12}, V(x[-1]))
    assert.is_true(x[2]:is_view())
    local e = x[2][3]
    assert.are.equal(0, e:dim())
    assert.are.same({7}, V(e))
  end)

  it("t[{...}] with numbers, ranges, steps and {} (views)", function()
    local x = m34()
    assert.are.same({2, 3, 6, 7}, V(x[{{1, 2}, {2, 3}}]))
    assert.are.same({2, 2}, plain(x[{{1, 2}, {2, 3}}].shape))
    assert.are.same({3, 7, 11}, V(x[{{}, 3}]))
    assert.are.same({1, 3, 9, 11}, V(x[{{1, -1, 2}, {1, 4, 2}}]))
    assert.are.same({9, 10, 11, 12}, V(x[{3}]))        -- fewer entries: the rest whole
    assert.are.same({0, 4}, plain(x[{{2, 1}}].shape))  -- empty inclusive range
    -- non-contiguous chain: transpose, range, number
    assert.are.same({6, 7}, V(x:t()[{{2, 3}, 2}]))
  end)

  it("t[mask] and t[int64 tensor] copy", function()
    local x = m34()
    local mask = torch.tensor({{false, true, false, false}, {false, false, false, true}, {true, false, false, false}})
    local r = x[mask]
    assert.are.same({2, 8, 9}, V(r))
    assert.is_false(r:is_view())
    assert.are.same({9, 10, 11, 12, 1, 2, 3, 4}, V(x[torch.tensor({3, 1})]))
    assert.are.same({4, 1, 8, 5, 12, 9}, V(x[{{}, torch.tensor({-1, 1})}]))
    assert.are.same({1, 2, 3, 4, 9, 10, 11, 12}, V(x[torch.tensor({true, false, true})]))
  end)

  it("assigns numbers and tensors (broadcasting) through views", function()
    local x = torch.zeros(3, 4)
    x[1] = 1
    x[{{}, 4}] = torch.tensor({7., 8., 9.})
    x[{{2, 3}, {1, 2}}] = torch.tensor({-1., -2.})    -- broadcast over rows
    x[{3, {3, 3}}] = 5
    assert.are.same({1, 1, 1, 7, -1, -2, 0, 8, -1, -2, 5, 9}, V(x))
    local y = torch.zeros(2, 2, { dtype = "int64" })
    y[{{}, {}}] = { { 1, 2 }, { 3, 4 } }                -- a nested table
    assert.are.same({1, 2, 3, 4}, V(y))
    local b = torch.zeros(3, { dtype = "bool" })
    b[2] = true
    assert.are.same({false, true, false}, V(b))
  end)

  it("assigns through masks and index tensors", function()
    local x = m34()
    local mask = torch.tensor({{true, false, false, false}, {false, false, false, false}, {false, false, false, true}})
    x[mask] = 0
    assert.are.same({0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0}, V(x))
    x[mask] = torch.tensor({-1, -2})
    assert.are.same({-1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, -2}, V(x))
    x[{{}, torch.tensor({2, 4})}] = 100
    assert.are.same({-1, 100, 3, 100, 5, 100, 7, 100, 9, 100, 11, 100}, V(x))
    x[torch.tensor({3})] = torch.tensor({{0, 0, 0, 0}})
    assert.are.same({0, 0, 0, 0}, V(x[3]))
    x[torch.tensor({true, false, false})] = 7
    assert.are.same({7, 7, 7, 7}, V(x[1]))
    local t = m34():t() -- non-contiguous target
    t[torch.tensor({{true, false, false}, {false, false, false}, {false, false, false}, {false, false, true}})] = torch.tensor({-5, -6})
    assert.are.same({-5, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, -6}, V(t))
  end)

  it("in-place index ops write into the tensor and return it", function()
    local x = torch.zeros(2, 3)
    assert.are.equal(x, x:index_fill_(2, torch.tensor({1, 3}), 2))
    assert.are.same({2, 0, 2, 2, 0, 2}, V(x))
    x:masked_fill_(torch.tensor({false, true, false}), -1)
    assert.are.same({2, -1, 2, 2, -1, 2}, V(x))
    x:scatter_(1, torch.tensor({{2, 1, 2}}), 9)
    assert.are.same({2, 9, 2, 9, -1, 9}, V(x))
    x:scatter_add_(2, torch.tensor({{1, 1}}), torch.tensor({{1., 2.}}))
    assert.are.same({5, 9, 2, 9, -1, 9}, V(x))
    x:index_add_(1, torch.tensor({2}), torch.ones(1, 3), { alpha = 2 })
    assert.are.same({5, 9, 2, 11, 1, 11}, V(x))
    local v = x:t() -- through a transposed view
    v:index_fill_(1, torch.tensor({3}), 0)
    assert.are.same({5, 9, 0, 11, 1, 0}, V(x))
  end)

  it("index ops work on every dtype", function()
    for _, dt in ipairs({ "float32", "float64", "int64", "int32", "uint8", "bool" }) do
      local x = torch.tensor({{1, 0, 1}, {0, 1, 1}}, { dtype = dt })
      local r = x:index_select(2, torch.tensor({3, 1}))
      assert.are.equal(dt, r.dtype)
      local want = dt == "bool" and { true, true, true, false } or { 1, 1, 1, 0 }
      assert.are.same(want, V(r))
      assert.are.same(dt == "bool" and { true, false } or { 1, 0 }, V(x:flip(2):gather(2, torch.tensor({{1}, {3}}))))
    end
  end)

  it("reports out-of-range indices and bad keys", function()
    local x = torch.zeros(3, 2)
    assert.has_error(function() return x[5] end, "t[...]: index 5 is out of range for dim 1 of size 3 (expected 1..3 or -3..-1)")
    assert.has_error(function() return x[{1, -3}] end, "t[...]: index -3 is out of range for dim 2 of size 2 (expected 1..2 or -2..-1)")
    assert.has_error(function() return x[{1, 1, 1}] end, "t[...]: too many indices for a tensor of 2 dims")
    assert.has_error(function() return x[{{1, 4}}] end, "t[...]: range {1, 4} is out of range for dim 1 of size 3")
    assert.has_error(function() x[{{}, 3}] = 1 end, "t[...]: index 3 is out of range for dim 2 of size 2 (expected 1..2 or -2..-1)")
    assert.has_error(function() return x[torch.tensor({true, false})] end,
      "t[...]: the shape of the mask [2] at index 1 does not match the shape of the indexed tensor [3, 2] at index 1")
    assert.has_error(function() return x[torch.tensor({4})] end, "index_select: index 4 is out of range for dim 1 of size 3 (expected 1..3)")
    assert.has_error(function() x:index_select(2, torch.tensor({0})) end,
      "index_select: index 0 is out of range for dim 2 of size 2 (expected 1..2)")
    assert.has_error(function() x:gather(1, torch.tensor({{1, 4}})) end,
      "gather: index 4 is out of range for dim 1 of size 3 (expected 1..3)")
    assert.has_error(function() x:gather(1, torch.tensor({1, 2})) end,
      "gather: index tensor must have the same number of dimensions as input tensor (1 vs 2)")
    assert.has_error(function() x:scatter(2, torch.tensor({{3}}), 1.0) end,
      "scatter: index 3 is out of range for dim 2 of size 2 (expected 1..2)")
    assert.has_error(function() x:scatter(2, torch.tensor({{1}}), torch.tensor({{1}})) end,
      "scatter: expected self.dtype to be equal to src.dtype (float32 vs int64)")
    assert.has_error(function() x:take(torch.tensor({7})) end,
      "take: index 7 is out of range for a tensor of 6 elements (expected 1..6)")
    assert.has_error(function() x:index_select(1, torch.tensor({1.5})) end,
      "index_select: index must be an int64 tensor (got float32)")
    assert.has_error(function() x:masked_fill(torch.tensor({1, 0}), 1) end, "masked_fill: expected a bool mask (got int64)")
    assert.has_error(function() x:masked_fill_(torch.tensor({{{true}}}), 1) end,
      "masked_fill_: mask of shape [1, 1, 1] cannot be broadcast to the tensor's shape [3, 2]")
    assert.has_error(function() x[torch.tensor({true, false, true})] = torch.tensor({1., 2., 3.}) end)
  end)
end)

describe("advanced indexing with several index tensors (PyTorch semantics)", function()
  local F = dofile("spec/fixtures/advindex.lua")
  local function input(name)
    local r = F.inputs[name]
    return torch.tensor(r.values, { dtype = r.dtype }):reshape(table.unpack(r.shape))
  end
  local function eval(src, x)
    local env = setmetatable({ I = torch.tensor, x = x }, { __index = _G })
    return assert(load("return " .. src, src, "t", env))()
  end
  local function check(want, got, name)
    assert.are.same(want.shape, plain(got.shape), name)
    assert.are.same(want.dtype, got.dtype, name)
    assert.are.same(want.values, V(got), name)
  end

  it("t[{i1, i2, ...}] pairs the index tensors (fixtures)", function()
    for _, c in ipairs(F.get) do
      local x = eval(c.x, input(c.input))
      check(c.want, x[eval(c.key, x)], c.name)
    end
  end)

  it("seed 003: -input[{torch.arange(1, n + 1), target}]:mean()", function()
    local input = torch.tensor({ { -0.5, -1.0, -2.0 }, { -1.5, -0.25, -3.0 }, { -0.1, -2.0, -0.7 } })
    local target = torch.tensor({ 2, 1, 3 })
    local l = -input[{ torch.arange(1, 4), target }]:mean()
    assert.are.same({}, plain(l.shape))
    assert.is_true(math.abs(l:item() - (1.0 + 1.5 + 0.7) / 3) < 1e-6)
  end)

  it("t[{i1, i2, ...}] = v (index_put_) (fixtures)", function()
    for _, c in ipairs(F.set) do
      local x = input(c.input)
      x[eval(c.key, x)] = eval(c.value, x)
      check(c.want, x, c.name)
    end
  end)

  it("assigns into a non-contiguous target and keeps views in sync", function()
    local base = m34()
    local t = base:t() -- (4, 3) view
    t[{ torch.tensor({ 1, 4 }), torch.tensor({ 3, 1 }) }] = torch.tensor({ -1, -2 })
    assert.are.same({ 1, 2, 3, -2, 5, 6, 7, 8, -1, 10, 11, 12 }, V(base))
    local x = torch.zeros(2, 3)
    x[{ torch.tensor({ 1, 1 }), torch.tensor({ 2, 2 }) }] = torch.tensor({ 5., 7. }) -- duplicates: one of them
    local v = x[1][2]:item()
    assert.is_true(v == 5 or v == 7)
  end)

  it("is differentiable (IndexBackward accumulates repeated positions)", function()
    for _, c in ipairs(F.grad) do
      local x = input("X"):requires_grad_()
      local r = x[eval(c.key, x)]
      local w = (torch.arange(r:numel(), { dtype = "float64" }) + 1):view(table.unpack(plain(r.shape)))
      local s = (r * w):sum()
      s:backward()
      check(c.want, x.grad, c.name)
    end
    local x = torch.randn(3, 4, { dtype = "float64", requires_grad = true })
    assert.is_true(torch.autograd.gradcheck(function(a)
      return a[{ torch.tensor({ { 1 }, { 3 } }), torch.tensor({ 2, 2, 4 }) }] * 2
    end, { x }))
    assert.is_true(torch.autograd.gradcheck(function(a)
      return a[{ torch.tensor({ true, false, true }), torch.tensor({ 1, 1 }) }]:exp()
    end, { x }))
  end)

  it("reports bad advanced keys", function()
    local x = m34()
    assert.has_error(function() return x[{ torch.tensor({ 1, 4 }), torch.tensor({ 1, 2 }) }] end,
      "t[...]: index 4 is out of range for dim 1 of size 3 (expected 1..3 or -3..-1)")
    assert.has_error(function() return x[{ torch.tensor({ 1, 2 }), torch.tensor({ 0, 2 }) }] end,
      "t[...]: index 0 is out of range for dim 2 of size 4 (expected 1..4 or -4..-1)")
    assert.has_error(function() return x[{ torch.tensor({ 1, 2 }), torch.tensor({ -5, 2 }) }] end,
      "t[...]: index -5 is out of range for dim 2 of size 4 (expected 1..4 or -4..-1)")
    assert.has_error(function() return x[{ torch.tensor({ 1, 2 }), torch.tensor({ 1, 2, 3 }) }] end,
      "t[...]: shape mismatch: indexing tensors could not be broadcast together with shapes [2], [3]")
    assert.has_error(function() return x[{ torch.tensor({ true, false, true }), torch.tensor({ 1, 2, 3 }) }] end,
      "t[...]: shape mismatch: indexing tensors could not be broadcast together with shapes [2], [3]")
    assert.has_error(function() x[{ torch.tensor({ 1, 2 }), torch.tensor({ 1, 2 }) }] = torch.tensor({ 1, 2, 3 }) end,
      "index_put_: shape mismatch: value tensor of shape [3] cannot be broadcast to indexing result of shape [2]")
    assert.has_error(function() x[{ torch.tensor({ 1, 9 }), torch.tensor({ 1, 2 }) }] = 0 end,
      "t[...]: index 9 is out of range for dim 1 of size 3 (expected 1..3 or -3..-1)")
    assert.are.same({ 1, 2, 3, 4 }, V(x[1])) -- nothing written
  end)
end)
