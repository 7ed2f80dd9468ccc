-- Elementwise family: values and dtypes against PyTorch 1.13 fixtures (spec/fixtures/gen_math.py),
-- broadcasting, scalars on either side, type promotion, in-place, out=, errors, metamethods.
local F = dofile("spec/fixtures/math.lua")

-- Asserts that t has dtype dt and the expected values (NaN equal NaN; tolerance by dtype).
local function check(t, dt, expected, what)
  assert.are.equal(dt, t.dtype, what)
  local e = torch.tensor(expected, { dtype = dt })
  local ok
  if dt == "float32" then ok = torch.allclose(t, e, { rtol = 1e-5, atol = 1e-6, equal_nan = true })
  elseif dt == "float64" then ok = torch.allclose(t, e, { rtol = 1e-12, atol = 1e-12, equal_nan = true })
  else ok = torch.equal(t, e) end
  assert(ok, what)
end

-- Asserts that fn raises an error whose message contains msg (plain text).
local function errors(fn, msg)
  local ok, err = pcall(fn)
  assert.is_false(ok, "expected an error: " .. msg)
  assert(tostring(err):find(msg, 1, true), "error '" .. tostring(err) .. "' lacks '" .. msg .. "'")
end

local function case_name(c)
  local parts = {}
  for _, k in ipairs { "op", "xdtype", "s", "first", "a", "b", "lo", "hi", "w" } do
    if c[k] ~= nil and type(c[k]) ~= "table" then parts[#parts + 1] = k .. "=" .. tostring(c[k]) end
  end
  return table.concat(parts, " ")
end

describe("elementwise math", function()
  it("unary ops match PyTorch for every dtype (incl. nan/inf, round half to even)", function()
    for _, c in ipairs(F.unary) do
      local x = torch.tensor(c.x, { dtype = c.xdtype })
      if c.error then
        assert.has_error(function() torch[c.op](x) end, nil, case_name(c))
      else
        check(torch[c.op](x), c.dtype, c.value, case_name(c))
        check(x[c.op](x), c.dtype, c.value, case_name(c))
      end
    end
  end)

  it("binary ops broadcast [3,1] with [4] and match PyTorch for every dtype", function()
    for _, c in ipairs(F.binary) do
      local a, b = torch.tensor(c.a, { dtype = c.xdtype }), torch.tensor(c.b, { dtype = c.xdtype })
      if c.error then
        assert.has_error(function() torch[c.op](a, b) end, nil, case_name(c))
      else
        local r = torch[c.op](a, b)
        assert.are.same({ 3, 4 }, { r.shape[1], r.shape[2] })
        check(r, c.dtype, c.value, case_name(c))
        check(a[c.op](a, b), c.dtype, c.value, case_name(c))
      end
    end
  end)

  it("takes Lua numbers on either side with wrapped-number promotion", function()
    for _, c in ipairs(F.scalar) do
      local a = torch.tensor(c.a, { dtype = c.xdtype })
      local fn = function() if c.first then return torch[c.op](c.s, a) else return torch[c.op](a, c.s) end end
      if c.skip then -- noqa
      elseif c.error then
        assert.has_error(fn, nil, case_name(c))
      else
        check(fn(), c.dtype, c.value, case_name(c))
      end
    end
  end)

  it("handles nan, inf and signed zeros like PyTorch", function()
    for _, c in ipairs(F.special) do
      local dt = c.xdtype
      local a, b = torch.tensor(c.a, { dtype = dt }), torch.tensor(c.b, { dtype = dt })
      check(torch[c.op](a, b), c.dtype, c.value, case_name(c))
    end
  end)

  it("promotes types like torch.result_type", function()
    for _, c in ipairs(F.promo) do
      local a = torch.ones(2, { dtype = c.a })
      local b
      if c.s ~= nil then b = c.s
      elseif c.bdim == 1 then b = torch.ones(2, { dtype = c.b })
      else b = torch.tensor(1, { dtype = c.b }) end
      if c.result == "error" then
        assert.has_error(function() torch[c.op](a, b) end, nil, case_name(c))
      else
        assert.are.equal(c.result, torch[c.op](a, b).dtype, case_name(c) .. " b=" .. tostring(c.b) .. " bdim=" .. tostring(c.bdim))
      end
    end
  end)

  it("where, clamp and lerp match PyTorch", function()
    for _, c in ipairs(F.where) do
      local a = type(c.a) == "table" and torch.tensor(c.a) or c.a
      local b = type(c.b) == "table" and torch.tensor(c.b) or c.b
      check(torch.where(torch.tensor(c.cond), a, b), c.dtype, c.value, "where")
    end
    for _, c in ipairs(F.clamp) do
      local lo = c.lo ~= "nil" and c.lo or nil
      local hi = c.hi ~= "nil" and c.hi or nil
      local x = torch.tensor(c.x, { dtype = c.xdtype })
      check(torch.clamp(x, lo, hi), c.dtype, c.value, case_name(c))
      check(x:clamp({ min = lo, max = hi }), c.dtype, c.value, case_name(c))
    end
    for _, c in ipairs(F.lerp) do
      local s, e = torch.tensor(c.start, { dtype = c.xdtype }), torch.tensor(c.stop, { dtype = c.xdtype })
      check(torch.lerp(s, e, c.w), c.dtype, c.value, case_name(c))
      check(torch.lerp(s, e, torch.tensor(c.w, { dtype = c.xdtype })), c.dtype, c.value, case_name(c))
    end
  end)

  it("clamp takes tensor bounds and rejects no bounds", function()
    local x = torch.tensor({ -2.0, 0.5, 3.0 })
    check(torch.clamp(x, torch.tensor({ 0.0, 1.0, 0.0 }), torch.tensor(2.0)), "float32", { 0.0, 1.0, 2.0 })
    errors(function() torch.clamp(x) end, "clamp: at least one of min or max must be given")
    check(torch.clamp(torch.tensor({ -7, 0, 3 }), 0.5), "float32", { 0.5, 0.5, 3.0 })
  end)
end)

describe("elementwise operators", function()
  it("implements + - * / ^ // % and unary minus with numbers on either side", function()
    local t = torch.tensor({ 1.0, 2.0, 4.0 })
    check(t + 1, "float32", { 2, 3, 5 })
    check(2 - t, "float32", { 1, 0, -2 })
    check(t * t, "float32", { 1, 4, 16 })
    check(1 / t, "float32", { 1, 0.5, 0.25 })
    check(t ^ 2, "float32", { 1, 4, 16 })
    check(2 ^ t, "float32", { 2, 4, 16 })
    check(-t, "float32", { -1, -2, -4 })
    local i = torch.tensor({ -7, 7, 8 })
    check(i // 2, "int64", { -4, 3, 4 })
    check(i % 3, "int64", { 2, 1, 2 })
    check(i / 2, "float32", { -3.5, 3.5, 4 })
    check(-7 // torch.tensor({ 2 }), "int64", { -4 })
    check(torch.tensor({ -7.5 }) // 2, "float32", { -4 })
  end)

  it("keeps == as identity and sets no __eq/__lt/__le", function()
    local a, b = torch.tensor({ 1 }), torch.tensor({ 1 })
    assert.is_false(a == b)
    assert.is_true(a == a)
    local mt = torch._metatable
    assert.is_nil(rawget(mt, "__eq"))
    assert.is_nil(rawget(mt, "__lt"))
    assert.is_nil(rawget(mt, "__le"))
  end)

  it("raises clean errors for integer division by zero and negative integer powers", function()
    local i = torch.tensor({ 3, -3 })
    errors(function() return i // 0 end, "floor_divide: integer division by zero")
    errors(function() return i % torch.tensor({ 1, 0 }) end, "remainder: integer division by zero")
    errors(function() return torch.fmod(i, 0) end, "fmod: integer division by zero")
    errors(function() return i ^ -1 end, "pow: integers to negative integer powers are not allowed")
    check(torch.tensor({ 1, -1, 2 }) ^ torch.tensor({ -1, -3, -2 }), "int64", { 1, -1, 0 })
    check(torch.tensor({ 3.0 }) // 0, "float32", { math.huge })
  end)

  it("rejects bad operands and shapes with messages naming them", function()
    local a = torch.zeros(2, 3)
    errors(function() return a + torch.zeros(4) end, "add: shapes [2, 3] and [4] cannot be broadcast")
    errors(function() return a + "x" end, "add: bad argument #2 (tensor or number expected, got string)")
    errors(function() return torch.sub(torch.tensor({ true }), torch.tensor({ false })) end,
      "sub: subtraction, the `-` operator, with two bool tensors is not supported")
    errors(function() return -torch.tensor({ true }) end, "neg: negation")
    errors(function() torch.add(torch.tensor({ 1 }), torch.tensor({ 1 }), { alpha = 2.5 }) end,
      "add: for integer tensors, alpha must be an integer (got 2.5)")
    errors(function() torch.where(torch.tensor({ 1 }), 1, 2) end,
      "where: expected condition to be a bool tensor, got int64")
    errors(function() torch.lerp(torch.zeros(2), torch.zeros(2, { dtype = "float64" }), 0.5) end,
      "lerp: expected dtype float32 for end but got float64")
  end)
end)

describe("elementwise in-place and out=", function()
  it("writes in place, bumps nothing else and returns self", function()
    local t = torch.tensor({ 1.0, 2.0, 3.0 })
    local r = t:add_(torch.tensor({ 1.0, 1.0, 1.0 }), { alpha = 2 })
    assert.are.equal(t, r)
    check(t, "float32", { 3, 4, 5 })
    t:sub_(1):mul_(2):div_(4):pow_(2)
    check(t, "float32", { 1, 2.25, 4 })
    t:clamp_(1.5, 3)
    check(t, "float32", { 1.5, 2.25, 3 })
    t:exp_():log_()
    check(t, "float32", { 1.5, 2.25, 3 })
    t:fill_(7)
    check(t, "float32", { 7, 7, 7 })
    t:zero_()
    check(t, "float32", { 0, 0, 0 })
    local i = torch.tensor({ 1, 2 }, { dtype = "int32" })
    i:add_(torch.tensor({ 10, 20 })) -- int64 into int32 is allowed (same category)
    check(i, "int32", { 11, 22 })
    i:fill_(9007199254740993)
    local l = torch.zeros(1, { dtype = "int64" }):fill_(9007199254740993)
    assert.is_true(torch.equal(l - 9007199254740992, torch.tensor({ 1 })))
  end)

  it("rejects in-place results that cannot be cast or broadcast", function()
    local i = torch.tensor({ 1, 2, 3 })
    errors(function() i:add_(torch.tensor({ 0.5, 0.5, 0.5 })) end,
      "add_: result type float32 can't be cast to the desired output type int64")
    errors(function() i:div_(2) end, "div_: result type float32 can't be cast to the desired output type int64")
    errors(function() i:exp_() end, "exp_: result type float32 can't be cast to the desired output type int64")
    errors(function() torch.zeros(3):add_(torch.zeros(2, 3)) end,
      "add_: output with shape [3] doesn't match the broadcast shape [2, 3]")
    check(i, "int64", { 1, 2, 3 })
  end)

  it("writes into out=, resizing an empty out and casting to its dtype", function()
    local a, b = torch.tensor({ 1.5, 2.0 }), torch.tensor({ 2.0, 3.0 })
    local z = torch.zeros(2)
    local r = torch.mul(a, b, { out = z })
    assert.are.equal(z, r)
    check(z, "float32", { 3, 6 })
    local e = torch.zeros(0)
    torch.add(a, b, { out = e })
    check(e, "float32", { 3.5, 5 })
    local d = torch.zeros(2, { dtype = "float64" })
    torch.eq(a, torch.tensor({ 1.5, 1.0 }), { out = d })
    check(d, "float64", { 1, 0 })
    errors(function() torch.mul(a, b, { out = torch.zeros(2, { dtype = "int64" }) }) end,
      "mul: result type float32 can't be cast to the desired output type int64")
    errors(function() torch.mul(a, b, { out = torch.zeros(3) }) end,
      "mul: output with shape [3] doesn't match the broadcast shape [2]")
    local o = torch.zeros(2)
    torch.exp(torch.tensor({ 0.0, 0.0 }), { out = o })
    check(o, "float32", { 1, 1 })
  end)
end)

describe("equal, allclose, isclose", function()
  it("compares whole tensors", function()
    assert.is_true(torch.equal(torch.tensor({ 1, 2 }), torch.tensor({ 1, 2 })))
    assert.is_true(torch.equal(torch.tensor({ 1.0, 2.0 }), torch.tensor({ 1, 2 }, { dtype = "float64" })))
    assert.is_false(torch.equal(torch.tensor({ 1, 2 }), torch.tensor({ 1, 3 })))
    assert.is_false(torch.equal(torch.tensor({ 1, 2 }), torch.tensor({ { 1, 2 } })))
    local a = torch.tensor({ 1.0, 0 / 0 })
    assert.is_false(torch.allclose(a, a))
    assert.is_true(torch.allclose(a, a, { equal_nan = true }))
    assert.is_true(torch.allclose(torch.tensor({ 1.0 }), torch.tensor({ 1.000001 })))
    assert.is_false(torch.allclose(torch.tensor({ 1.0 }), torch.tensor({ 1.001 })))
    assert.is_true(torch.allclose(torch.tensor({ 1.0 }), torch.tensor({ 1.001 }), { rtol = 1e-2 }))
    assert.is_true(torch.allclose(torch.tensor({ math.huge }), torch.tensor({ math.huge })))
    check(torch.isclose(torch.tensor({ 1.0, 2.0 }), torch.tensor({ 1.0, 2.5 })), "bool", { true, false })
    errors(function() torch.allclose(torch.zeros(1), torch.zeros(1, { dtype = "float64" })) end,
      "allclose: dtypes of the two tensors differ (float32 and float64)")
  end)

  it("handles empty and 0-d tensors", function()
    local e = torch.zeros(0, 3)
    local r = e + 1
    assert.are.equal(0, r:numel())
    assert.are.same({ 0, 3 }, { r.shape[1], r.shape[2] })
    local s = torch.tensor(2.5) * torch.tensor(2.0)
    assert.are.equal(0, s:dim())
    assert.is_true(torch.equal(s, torch.tensor(5.0)))
    assert.are.equal("int32", (torch.tensor(5) + torch.tensor({ 1 }, { dtype = "int32" })).dtype)
  end)
end)

describe("copy_", function()
  it("copies with broadcasting and casting, through views, and returns the tensor", function()
    local a = torch.zeros(2, 3)
    local r = a:copy_(torch.tensor({1, 2, 3}))
    assert.are.equal(a, r)
    assert.are.same({{1, 2, 3}, {1, 2, 3}}, a:tolist())
    a[1]:copy_(torch.tensor({7.5, 8.5, 9.5}, {dtype = "float64"}))
    assert.are.same({{7.5, 8.5, 9.5}, {1, 2, 3}}, a:tolist())
  end)
  it("rejects shapes that do not broadcast and non-tensor sources", function()
    assert.has_error(function() torch.zeros(2, 3):copy_(torch.zeros(4)) end,
      "copy_: source of shape [4] cannot be broadcast to destination of shape [2, 3]")
    assert.has_error(function() torch.zeros(2):copy_(3) end)
  end)
  it("is differentiable with respect to the source", function()
    local src = torch.tensor({1.0, 2.0}, {requires_grad = true})
    local dst = torch.zeros(2)
    dst:copy_(src * 3)
    dst:sum():backward()
    assert.are.same({3, 3}, src.grad:tolist())
  end)
end)
