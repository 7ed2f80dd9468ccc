-- Shape ops and views (lt_shape.c, tensor/ops_shape.c) against PyTorch fixtures.
local F = dofile("spec/fixtures/shape.lua")
local V = torch._flat_values

local function plain(s) local r = {} for i = 1, #s do r[i] = s[i] end return r end

-- Runs one fixture case: expression on x, compared with PyTorch's shape, strides and values.
local function check(c)
  local x = torch.tensor(c.input, { dtype = c.dtype })
  local r = assert(load("local x = ...; return " .. c.expr, c.name, "t", { torch = torch }))(x)
  assert.are.same(c.shape, plain(r.shape), c.name .. " shape")
  assert.are.equal(c.out_dtype, r.dtype, c.name .. " dtype")
  if c.is_view then
    assert.are.same(c.stride, plain(r:stride()), c.name .. " stride")
    assert.is_true(r:is_view(), c.name .. " is_view")
  end
  assert.are.same(c.values, V(r), c.name .. " values")
end

describe("tensor shape ops", function()
  for _, c in ipairs(F) do
    it("matches PyTorch: " .. c.name .. " (" .. c.expr .. ")", function() check(c) end)
  end

  it("has function and method forms", function()
    local x = torch.zeros(2, 3)
    assert.are.same({3, 2}, plain(torch.transpose(x, 1, 2).shape))
    assert.are.same({6}, plain(torch.reshape(x, -1).shape))
    assert.are.same({3, 2}, plain(torch.t(x).shape))
    assert.are.same({1, 2, 3}, plain(torch.unsqueeze(x, 1).shape))
  end)

  it("views share storage with their base", function()
    local x = torch.zeros(3, 4)
    local v = x:transpose(1, 2):narrow(1, 2, 2) -- (2, 3): columns 2..3 of x
    v[{1, 2}] = 5                                -- x[2][2]
    v[2] = 7                                     -- column 3 of x
    assert.are.same({0, 0, 7, 0, 0, 5, 7, 0, 0, 0, 7, 0}, V(x))
    local s = x:view(12)
    s[{{1, 4}}] = -1
    assert.are.same({-1, -1, -1, -1}, V(x[1]))
    local d = x:detach()
    d[{3, 4}] = 9
    assert.are.equal(9, V(x)[12])
    assert.is_false(x:reshape(4, 3):is_view() == false) -- contiguous: a view
    assert.is_false(x:t():reshape(12):is_view())        -- needs a copy
  end)

  it("chunk and split return lists of views", function()
    local x = torch.tensor({1, 2, 3, 4, 5})
    local c = x:chunk(2)
    assert.are.equal(2, #c)
    assert.are.same({1, 2, 3}, V(c[1]))
    assert.are.same({4, 5}, V(c[2]))
    assert.is_true(c[2]:is_view())
    local s = torch.split(x, 2)
    assert.are.equal(3, #s)
    assert.are.same({5}, V(s[3]))
    local w = x:split({1, 4})
    assert.are.same({2, 3, 4, 5}, V(w[2]))
    local m = torch.tensor({{1, 2, 3}, {4, 5, 6}}):chunk(3, 2)
    assert.are.same({3, 6}, V(m[3]))
    assert.are.equal(3, #torch.zeros(0):chunk(3))
  end)

  it("handles 0-d and empty tensors", function()
    local s = torch.tensor(5)
    assert.are.same({1}, plain(s:view(1).shape))
    assert.are.same({1}, plain(s:flatten().shape))
    assert.are.same({}, plain(s:view(1):squeeze().shape))
    assert.are.same({1, 1}, plain(s:unsqueeze(1):unsqueeze(1).shape))
    local e = torch.zeros(0, 3)
    assert.are.same({3, 0}, plain(e:t().shape))
    assert.are.same({0, 6}, plain(torch.cat({e, e}, 2).shape))
    assert.are.same({0}, plain(e:reshape(-1).shape))
    assert.are.same({2, 0, 3}, plain(torch.stack({e, e}).shape))
  end)

  it("t.T reverses all dims and t() requires <= 2 dims", function()
    assert.are.same({4, 3, 2}, plain(torch.zeros(2, 3, 4).T.shape))
    assert.has_error(function() torch.zeros(2, 3, 4):t() end, "t: expects a tensor with <= 2 dimensions, but self is 3D")
  end)

  it("reports errors with the offending shapes", function()
    local x = torch.zeros(2, 3)
    assert.has_error(function() x:t():view(6) end,
      "view: view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces). Use :reshape(...) instead.")
    assert.has_error(function() x:view(4, -1) end, "view: shape [4, -1] is invalid for input of size 6")
    assert.has_error(function() x:view(-1, -1) end, "view: only one dimension can be inferred")
    assert.has_error(function() x:expand(4, 3, 2) end,
      "expand: the expanded size of the tensor (2) must match the existing size (3) at non-singleton dimension 3. Target sizes: [4, 3, 2]. Tensor sizes: [2, 3]")
    assert.has_error(function() torch.cat({x, torch.zeros(2, 4)}) end,
      "cat: sizes of tensors must match except in dimension 1. Expected size 3 but got size 4 for tensor number 2 in the list (shapes [2, 3] and [2, 4])")
    assert.has_error(function() torch.cat({x, torch.zeros(2, 3, 1)}) end,
      "cat: tensors must have same number of dimensions: got 2 and 3 (tensor 1 of shape [2, 3] and tensor 2 of shape [2, 3, 1])")
    assert.has_error(function() torch.cat({}) end, "cat: expected a non-empty list of tensors")
    assert.has_error(function() torch.stack({x, torch.zeros(3, 2)}) end,
      "stack: expects each tensor to be equal size, but got [2, 3] at entry 1 and [3, 2] at entry 2")
    assert.has_error(function() x:transpose(1, 3) end,
      "transpose: dim 3 out of range for a tensor of 2 dims (expected 1..2 or -2..-1)")
    assert.has_error(function() x:select(1, 3) end,
      "select: index 3 is out of range for dim 1 of size 2 (expected 1..2 or -2..-1)")
    assert.has_error(function() x:narrow(2, 2, 3) end, "narrow: start (2) + length (3) exceeds dimension size (3)")
    assert.has_error(function() x:permute(1, 1) end, "permute: dim 1 appears more than once")
    assert.has_error(function() x:flip(1, 1) end, "flip: dim 1 appears multiple times in the list of dims")
    assert.has_error(function() x:split({1, 2}) end,
      "split: split sizes must sum exactly to 2 (the size of dim 1), but got sizes that sum to 3")
  end)
end)
