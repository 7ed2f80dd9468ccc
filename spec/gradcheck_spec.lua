-- gradcheck (float64 central differences vs backward) for every differentiable op,
-- including broadcast operands and non-contiguous (transposed) inputs.
local gradcheck = torch.autograd.gradcheck

local function R(...) -- a float64 leaf with values in [0.5, 1.5] (safe for log/sqrt/div/pow)
  return (torch.rand({ ... }, { dtype = "float64" }) + 0.5):requires_grad_()
end
local function S(...) -- signed values, away from 0 (abs, relu, clamp kinks)
  local t = torch.rand({ ... }, { dtype = "float64" }) + 0.2
  local sign = torch.randint(0, 2, t.shape):double() * 2 - 1
  return (t * sign):requires_grad_()
end
-- a transposed (non-contiguous) view whose leaf is contiguous: gradcheck perturbs the leaf
local function T(r, c)
  return R(c, r)
end

local idx = torch.tensor({ 3, 1, 2, 1 })
local gidx = torch.tensor({ { 1, 3 }, { 2, 2 } })
local sidx = torch.tensor({ { 1, 3 }, { 2, 1 } }) -- no duplicates in a row (scatter)
local mask = torch.tensor({ { true, false, true }, { false, false, true } })

local cases = {
  { "add", function(a, b) return a + b end, { R(2, 3), R(3) } },
  { "add alpha", function(a, b) return torch.add(a, b, { alpha = 2.5 }) end, { R(2, 3), R(2, 1) } },
  { "sub", function(a, b) return a - b end, { R(2, 3), R(1, 3) } },
  { "rsub number", function(a) return 2 - a end, { R(4) } },
  { "mul", function(a, b) return a * b end, { R(2, 3), R(3) } },
  { "mul number", function(a) return a * 3 end, { R(2, 2) } },
  { "div", function(a, b) return a / b end, { R(2, 3), R(2, 1) } },
  { "number / tensor", function(a) return 2 / a end, { R(3) } },
  { "neg", function(a) return -a end, { R(3) } },
  { "pow tensor", function(a, b) return a ^ b end, { R(2, 3), R(3) } },
  { "pow number", function(a) return a ^ 3 end, { S(2, 3) } },
  { "pow 0.5", function(a) return a:pow(0.5) end, { R(4) } },
  { "number ^ tensor", function(a) return 2 ^ a end, { R(4) } },
  { "exp", function(a) return a:exp() end, { S(2, 3) } },
  { "log", function(a) return a:log() end, { R(2, 3) } },
  { "log1p", function(a) return a:log1p() end, { R(2, 3) } },
  { "expm1", function(a) return a:expm1() end, { S(2, 3) } },
  { "sqrt", function(a) return a:sqrt() end, { R(2, 3) } },
  { "rsqrt", function(a) return a:rsqrt() end, { R(2, 3) } },
  { "sin", function(a) return a:sin() end, { S(2, 3) } },
  { "cos", function(a) return a:cos() end, { S(2, 3) } },
  { "tan", function(a) return a:tan() end, { S(2, 3) } },
  { "tanh", function(a) return a:tanh() end, { S(2, 3) } },
  { "sigmoid", function(a) return a:sigmoid() end, { S(2, 3) } },
  { "relu", function(a) return a:relu() end, { S(2, 3) } },
  { "abs", function(a) return a:abs() end, { S(2, 3) } },
  { "clamp", function(a) return a:clamp(-0.5, 0.6) end, { S(3, 3) } },
  { "clamp min only", function(a) return torch.clamp(a, { min = 0.1 }) end, { S(3, 3) } },
  { "maximum", function(a, b) return torch.maximum(a, b) end, { S(2, 3), S(3) } },
  { "minimum", function(a, b) return torch.minimum(a, b) end, { S(2, 3), S(2, 1) } },
  { "where", function(a, b) return torch.where(mask, a, b) end, { R(2, 3), R(3) } },
  { "lerp", function(a, b) return torch.lerp(a, b, 0.3) end, { R(2, 3), R(2, 3) } },
  { "lerp tensor weight", function(a, b, w) return torch.lerp(a, b, w) end, { R(2, 3), R(2, 3), R(2, 3) } },
  { "sum", function(a) return a:sum() end, { R(2, 3) } },
  { "sum dim", function(a) return a:sum(2) end, { R(2, 3, 2) } },
  { "sum dims keepdim", function(a) return a:sum({ 1, 3 }, true) end, { R(2, 3, 2) } },
  { "mean", function(a) return a:mean() end, { R(2, 3) } },
  { "mean dim", function(a) return a:mean(-1, true) end, { R(2, 3) } },
  { "prod", function(a) return a:prod(1) end, { R(3, 2) } },
  { "var", function(a) return a:var(2) end, { R(3, 4) } },
  { "var biased", function(a) return a:var(1, false) end, { R(3, 4) } },
  { "std", function(a) return a:std() end, { R(3, 4) } },
  { "norm", function(a) return a:norm() end, { S(3, 4) } },
  { "norm p=1 dim", function(a) return a:norm(1, 2) end, { S(3, 4) } },
  { "norm p=3", function(a) return a:norm(3) end, { S(3, 4) } },
  { "logsumexp", function(a) return a:logsumexp(2) end, { S(3, 4) } },
  { "amax", function(a) return a:amax(2) end, { S(3, 4) } },
  { "amin", function(a) return a:amin(1, true) end, { S(3, 4) } },
  { "max dim", function(a) return (a:max(2)) end, { S(3, 4) } },
  { "min dim keepdim", function(a) return (a:min(1, true)) end, { S(3, 4) } },
  { "cumsum", function(a) return a:cumsum(2) end, { S(3, 4) } },
  { "cumprod", function(a) return a:cumprod(1) end, { R(3, 4) } },
  { "softmax", function(a) return a:softmax(2) end, { S(3, 4) } },
  { "log_softmax", function(a) return a:log_softmax(1) end, { S(3, 4) } },
  { "matmul 2d", function(a, b) return a:matmul(b) end, { R(2, 3), R(3, 4) } },
  { "matmul batched broadcast", function(a, b) return a:matmul(b) end, { R(2, 2, 3), R(3, 4) } },
  { "matmul 1d 2d", function(a, b) return a:matmul(b) end, { R(3), R(3, 4) } },
  { "matmul 3d 1d", function(a, b) return a:matmul(b) end, { R(2, 2, 3), R(3) } },
  { "matmul 1d 1d", function(a, b) return a:matmul(b) end, { R(3), R(3) } },
  { "mm transposed", function(a, b) return a:t():mm(b) end, { T(2, 3), R(3, 2) } },
  { "bmm", function(a, b) return a:bmm(b) end, { R(2, 2, 3), R(2, 3, 2) } },
  { "mv", function(a, b) return a:mv(b) end, { R(2, 3), R(3) } },
  { "dot", function(a, b) return a:dot(b) end, { R(3), R(3) } },
  { "outer", function(a, b) return torch.outer(a, b) end, { R(3), R(2) } },
  { "addmm", function(c, a, b) return torch.addmm(c, a, b, { beta = 0.5, alpha = 2 }) end, { R(3), R(2, 4), R(4, 3) } },
  { "t", function(a) return a:t() * torch.arange(1, 3):double() end, { R(2, 3) } },
  { "transpose", function(a) return a:transpose(1, 3):contiguous() end, { R(2, 3, 2) } },
  { "permute", function(a) return a:permute(3, 1, 2) * 2 end, { R(2, 3, 2) } },
  { "view", function(a) return a:view(3, 2) * torch.arange(1, 7):double():view(3, 2) end, { R(2, 3) } },
  { "reshape of transposed", function(a) return a:t():reshape(-1) * torch.arange(1, 7):double() end, { R(2, 3) } },
  { "flatten", function(a) return a:flatten() end, { R(2, 3, 2) } },
  { "squeeze unsqueeze", function(a) return a:squeeze(2):unsqueeze(1) end, { R(3, 1, 2) } },
  { "expand", function(a) return a:expand(4, 3) * torch.arange(1, 13):double():view(4, 3) end, { R(1, 3) } },
  { "narrow", function(a) return a:narrow(2, 2, 2) end, { R(3, 4) } },
  { "select", function(a) return a:select(1, 2) end, { R(3, 4) } },
  { "index t[i]", function(a) return a[2] end, { R(3, 4) } },
  { "index range", function(a) return a[{ {}, { 2, 4, 2 } }] end, { R(3, 4) } },
  { "index_select", function(a) return a:index_select(1, idx) end, { R(3, 2) } },
  { "gather", function(a) return a:gather(2, gidx) end, { R(2, 3) } },
  { "cat", function(a, b) return torch.cat({ a, b }, 2) end, { R(2, 3), R(2, 1) } },
  { "stack", function(a, b) return torch.stack({ a, b }, 1) end, { R(2, 3), R(2, 3) } },
  { "contiguous of transposed", function(a) return a:t():contiguous() end, { R(2, 3) } },
  { "clone", function(a) return a:clone() * 2 end, { R(2, 3) } },
  { "flip", function(a) return a:flip(1) * torch.arange(1, 7):double():view(2, 3) end, { R(2, 3) } },
  { "tile", function(a) return a:tile(2, 3) * torch.arange(1, 25):double():view(4, 6) end, { R(2, 2) } },
  { "chunk", function(a) local p = a:chunk(2, 1); return p[1] * 2 + p[2] end, { R(4, 2) } },
  { "split", function(a) local p = a:split(1, 2); return p[1] * p[2] end, { R(2, 2) } },
  { "masked_fill", function(a) return a:masked_fill(mask, 0.5) end, { R(2, 3) } },
  { "scatter", function(a, s) return a:scatter(2, sidx, s) end, { R(2, 3), R(2, 2) } },
  { "scatter_add", function(a, s) return a:scatter_add(2, gidx, s) end, { R(2, 3), R(2, 2) } },
  { "masked_select", function(a) return a:masked_select(mask) end, { R(2, 3) } },
  { "take", function(a) return a:take(torch.tensor({ 1, 6, 1 })) end, { R(2, 3) } },
  { "to float64 (identity)", function(a) return a:double() * 3 end, { R(3) } },
  -- zeros in the input (PyTorch's division-free formulas)
  { "prod with a zero", function(a) return (a * torch.tensor({ { 1, 0, 1 }, { 1, 1, 1 } }):double()):prod() end, { R(2, 3) } },
  { "prod dim with zeros", function(a) return (a * torch.tensor({ { 1, 0, 0 }, { 1, 1, 0 } }):double()):prod(2) end, { R(2, 3) } },
  { "prod dims list with zero", function(a) return (a * torch.tensor({ { { 1, 0 }, { 1, 1 } } }):double()):prod({ 1, 3 }, true) end, { R(1, 2, 2) } },
  { "cumprod with zeros", function(a) return (a * torch.tensor({ { 1, 0, 1, 0 }, { 1, 1, 0, 1 } }):double()):cumprod(2) end, { R(2, 4) } },
  { "max()", function(a) return a:max() end, { R(2, 3) } },
  { "min()", function(a) return a:min() end, { R(2, 3) } },
  { "index_fill", function(a) return a:index_fill(2, torch.tensor({ 1, 3 }), 0.5) end, { R(2, 3) } },
  { "index_add", function(a, s) return a:index_add(1, torch.tensor({ 3, 1, 3 }), s, { alpha = 2 }) end, { R(3, 2), R(3, 2) } },
  { "index_copy", function(a, s) return a:index_copy(1, torch.tensor({ 3, 1 }), s) end, { R(3, 2), R(2, 2) } },
  { "index_fill_ on a non-leaf", function(a) local y = a * 2; y:index_fill_(1, torch.tensor({ 2 }), 0); return y end, { R(3, 2) } },
  { "index_add_ on a non-leaf", function(a, s) local y = a * 1; y:index_add_(2, torch.tensor({ 1, 1 }), s); return y * y end, { R(2, 3), R(2, 2) } },
  { "index_copy_ on a non-leaf", function(a, s) local y = a:sin(); y:index_copy_(1, torch.tensor({ 1 }), s); return y end, { R(2, 3), R(1, 3) } },
  { "masked_fill_ on a non-leaf", function(a) local y = a * 3; y:masked_fill_(mask, 1); return y end, { R(2, 3) } },
  { "scatter_ on a non-leaf", function(a, s) local y = a + 0; y:scatter_(2, sidx, s); return y end, { R(2, 3), R(2, 2) } },
  { "scatter_add_ on a non-leaf", function(a, s) local y = a + 0; y:scatter_add_(2, gidx, s); return y end, { R(2, 3), R(2, 2) } },
  { "masked_scatter_ on a non-leaf", function(a, s) local y = a + 0; y:masked_scatter_(mask, s); return y end, { R(2, 3), R(2, 3) } },
  { "t[range] = tensor on a non-leaf", function(a, s) local y = a * 2; y[{ {}, { 2, 3 } }] = s; return y * a end, { R(2, 3), R(2, 2) } },
  { "t[i] = broadcast tensor", function(a, s) local y = a * 2; y[2] = s; return y end, { R(3, 2), R(1) } },
  { "t[i] = number on a non-leaf", function(a) local y = a:sin(); y[{ 1, 2 }] = 0; return y end, { R(2, 3) } },
  { "unfold", function(a) return a:unfold(2, 3, 2) * torch.arange(1, 13):double():view(2, 2, 3) end, { R(2, 6) } },
  { "unfold overlapping", function(a) return a:unfold(1, 2, 1) end, { R(4, 2) } },
  { "to cpu", function(a) return a:to("cpu") * 2 end, { R(3) } },
  { "masked_select broadcast mask", function(a) return a:masked_select(torch.tensor({ true, false, true })) end, { R(2, 3) } },
  { "masked_select broadcast input", function(a) return a:masked_select(mask) end, { R(1, 3) } },
  { "Function", function(a, b)
      local Mul = torch.autograd.Function{ forward = function(ctx, x, y) ctx:save_for_backward(x, y); return x * y end,
        backward = function(ctx, g) local x, y = table.unpack(ctx.saved_tensors); return g * y, g * x end }
      return Mul(a, b) end, { R(2, 3), R(2, 3) } },
  { "composite", function(a, b) return ((a:matmul(b)):tanh() * a:sum(2, true)):softmax(2):log() end, { R(2, 3), R(3, 3) } },
}

describe("gradcheck", function()
  for _, c in ipairs(cases) do
    it(c[1], function()
      torch.manual_seed(7)
      assert.is_true(gradcheck(c[2], c[3]))
    end)
  end

  it("reports a wrong derivative", function()
    -- detach hides the dependence: analytical 0, numerical 1
    local ok, msg = gradcheck(function(a) return a + a:detach() end, { R(2) }, { raise = false })
    assert.is_false(ok)
    assert.matches("Jacobian mismatch for output 1 element 1 with respect to input 1 element 1", msg)
  end)

  it("needs float64 inputs", function()
    local x = torch.rand(2, { requires_grad = true })
    assert.has_error(function() gradcheck(function(a) return a * 2 end, { x }) end,
      "gradcheck: input 1 has dtype float32; gradcheck needs float64 inputs")
  end)
end)
