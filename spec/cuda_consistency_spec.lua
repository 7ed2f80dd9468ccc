-- cuda_consistency_spec: every op of the kernel table on CUDA against the CPU, in the style
-- of ggml's test-backend-ops: random shapes, contiguous / transposed (non-contiguous) /
-- broadcast operands, several dtypes; results compared after copying back. Tagged `gpu`
-- (needs a GPU; scripts/gpu/run.sh). Everything touching CUDA is inside `it` blocks, so
-- loading the file on a CPU-only machine does nothing.

-- Without a GPU (busted run by hand, without --exclude-tags=gpu) the block is one pending test.
local describe_gpu = torch.cuda.is_available() and describe or function(name, _)
  describe(name, function() it("needs a GPU", function() pending("no GPU: torch.cuda.is_available() is false") end) end)
end

describe_gpu("cuda vs cpu consistency #gpu", function()
  local function rshape(nd)
    local s = {}
    for i = 1, nd do s[i] = math.random(1, 7) end
    return s
  end

  -- A CPU tensor of shape s in one of three layouts: contiguous, transposed (a view of a
  -- contiguous tensor of the reversed shape), or broadcast along dim 1 (expanded).
  local function make(s, dtype, layout, gen)
    gen = gen or function(sh) return torch.randn(sh, {dtype = torch.float64}) end
    local t
    if layout == "transposed" and #s >= 2 then
      local r = {}
      for i = 1, #s do r[i] = s[#s + 1 - i] end
      t = gen(r):permute(table.unpack((function() local p = {} for i = #s, 1, -1 do p[#p + 1] = i end return p end)()))
    elseif layout == "broadcast" and #s >= 1 then
      local one = {table.unpack(s)}
      one[1] = 1
      t = gen(one):expand(table.unpack(s))
    else
      t = gen(s)
    end
    return t:to(dtype)
  end

  local function compare(c, g, tol, what)
    assert.are.same(c.shape, g.shape, what)
    local gc = g:cpu()
    if c.dtype == torch.bool or c.dtype == torch.int64 or c.dtype == torch.int32 or c.dtype == torch.uint8 then
      assert.is_true(torch.equal(gc, c), what)
      return
    end
    local a, b = gc:double(), c:double()
    local bad = (a - b):abs():gt(b:abs() * tol + tol):logical_and(a:eq(a):logical_or(b:eq(b)))
    assert.is_false(bad:any():item(), what .. ": max diff " .. tostring((a - b):abs():max():item()))
  end

  local layouts = {"contiguous", "transposed", "broadcast"}
  local fdtypes = {{torch.float32, 1e-5}, {torch.float64, 1e-12}}

  local unary = {"neg", "abs", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh",
                 "sigmoid", "relu", "sign", "floor", "ceil", "round", "trunc", "logical_not", "isnan", "isinf"}
  local binary = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "fmod", "remainder", "eq", "ne", "lt",
                  "le", "gt", "ge", "logical_and", "logical_or"}

  it("unary ops", function()
    math.randomseed(1)
    for _, op in ipairs(unary) do
      for _, dt in ipairs(fdtypes) do
        for _, lay in ipairs(layouts) do
          local x = make(rshape(math.random(1, 4)), dt[1], lay)
          if op == "log" or op == "sqrt" or op == "rsqrt" or op == "log1p" then x = x:abs() end
          compare(x[op](x), x:cuda()[op](x:cuda()), dt[2] * 10, op .. " " .. tostring(dt[1]) .. " " .. lay)
        end
      end
    end
    for _, op in ipairs({"neg", "abs", "sign", "relu"}) do
      local x = make(rshape(3), torch.int64, "transposed", function(s) return torch.randint(-50, 50, s) end)
      compare(x[op](x), x:cuda()[op](x:cuda()), 0, op .. " int64")
    end
  end)

  it("binary ops with broadcasting", function()
    math.randomseed(2)
    for _, op in ipairs(binary) do
      for _, dt in ipairs(fdtypes) do
        for _, lay in ipairs(layouts) do
          local s = rshape(3)
          local a = make(s, dt[1], lay)
          local b = make({s[3]}, dt[1], "contiguous")
          if op == "pow" then a = a:abs() end
          compare(a[op](a, b), a:cuda()[op](a:cuda(), b:cuda()), dt[2] * 10, op .. " " .. lay)
          compare(b[op](b, a), b:cuda()[op](b:cuda(), a:cuda()), dt[2] * 10, op .. " swapped " .. lay)
        end
      end
      local ia = make(rshape(2), torch.int64, "transposed", function(s) return torch.randint(-20, 20, s) end)
      local ib = torch.randint(1, 9, {ia.shape[2]})
      if op ~= "div" and op ~= "pow" then
        compare(ia[op](ia, ib), ia:cuda()[op](ia:cuda(), ib:cuda()), 0, op .. " int64")
      end
    end
    local a, b = torch.randn(4, 5), torch.randn(5)
    compare(a:add(b, {alpha = 2.5}), a:cuda():add(b:cuda(), {alpha = 2.5}), 1e-6, "add alpha")
    compare(a // b, a:cuda() // b:cuda(), 1e-6, "floordiv")
  end)

  it("ternary ops", function()
    local c = torch.rand(3, 4):gt(0.5)
    local a, b = torch.randn(3, 4), torch.randn(4)
    compare(torch.where(c, a, b), torch.where(c:cuda(), a:cuda(), b:cuda()), 0, "where")
    compare(a:clamp(-0.5, 0.5), a:cuda():clamp(-0.5, 0.5), 0, "clamp")
    compare(torch.lerp(a, b:expand(3, 4), 0.3), torch.lerp(a:cuda(), b:cuda():expand(3, 4), 0.3), 1e-6, "lerp")
  end)

  it("reductions, scans and softmax along every dim", function()
    math.randomseed(3)
    local red = {"sum", "mean", "prod", "var", "std", "logsumexp", "amax", "amin"}
    for _, dt in ipairs(fdtypes) do
      for _, lay in ipairs(layouts) do
        local x = make({5, 300, 3}, dt[1], lay)
        for d = 1, 3 do
          for _, op in ipairs(red) do
            compare(x[op](x, d), x:cuda()[op](x:cuda(), d), dt[2] * 1e3, op .. " dim " .. d .. " " .. lay)
          end
          compare(x:norm(2, d), x:cuda():norm(2, d), dt[2] * 1e3, "norm")
          local cv, ci = x:max(d)
          local gv, gi = x:cuda():max(d)
          compare(cv, gv, 0, "max values")
          compare(ci, gi, 0, "max indices")
          cv, ci = x:min(d)
          gv, gi = x:cuda():min(d)
          compare(ci, gi, 0, "min indices")
          compare(x:cumsum(d), x:cuda():cumsum(d), dt[2] * 1e3, "cumsum")
          compare(x:cumprod(d), x:cuda():cumprod(d), dt[2] * 1e3, "cumprod")
          compare(x:softmax(d), x:cuda():softmax(d), dt[2] * 10, "softmax")
          compare(x:log_softmax(d), x:cuda():log_softmax(d), dt[2] * 10, "log_softmax")
        end
        compare(x:sum(), x:cuda():sum(), dt[2] * 1e3, "full sum")
        compare(x:gt(0):all(), x:cuda():gt(0):all(), 0, "all")
        compare(x:gt(0):any(2), x:cuda():gt(0):any(2), 0, "any")
      end
    end
    local i = torch.randint(-5, 5, {4, 6})
    compare(i:sum(1), i:cuda():sum(1), 0, "int sum")
    compare(i:cumsum(2), i:cuda():cumsum(2), 0, "int cumsum")
    compare(i:amax(2), i:cuda():amax(2), 0, "int amax")
  end)

  it("indexing ops", function()
    local x = torch.randn(5, 6)
    local idx = torch.tensor({3, 1, 5}, {dtype = torch.int64})
    compare(x:index_select(1, idx), x:cuda():index_select(1, idx:cuda()), 0, "index_select")
    compare(x:t():index_select(2, idx), x:cuda():t():index_select(2, idx:cuda()), 0, "index_select t")
    local g = torch.randint(1, 7, {5, 4})
    compare(x:gather(2, g), x:cuda():gather(2, g:cuda()), 0, "gather")
    local src = torch.randn(5, 4)
    local perm = torch.stack({torch.randperm(6):narrow(1, 1, 4) + 1, torch.randperm(6):narrow(1, 1, 4) + 1,
      torch.randperm(6):narrow(1, 1, 4) + 1, torch.randperm(6):narrow(1, 1, 4) + 1, torch.randperm(6):narrow(1, 1, 4) + 1})
    compare(x:scatter(2, perm, src), x:cuda():scatter(2, perm:cuda(), src:cuda()), 0, "scatter")
    compare(x:scatter_add(2, g, src), x:cuda():scatter_add(2, g:cuda(), src:cuda()), 1e-6, "scatter_add")
    local m = torch.rand(5, 6):gt(0.5)
    compare(x:masked_fill(m, 7), x:cuda():masked_fill(m:cuda(), 7), 0, "masked_fill")
    compare(x:masked_select(m), x:cuda():masked_select(m:cuda()), 0, "masked_select")
    local big = torch.randn(3000)
    local bm = big:gt(0)
    compare(big:masked_select(bm), big:cuda():masked_select(bm:cuda()), 0, "masked_select big")
    compare(x:take(idx), x:cuda():take(idx:cuda()), 0, "take")
    compare(x:clone():index_fill_(2, idx, -1), x:cuda():clone():index_fill_(2, idx:cuda(), -1), 0, "index_fill_")
    compare(x:flip({1, 2}), x:cuda():flip({1, 2}), 0, "flip")
    local ok, err = pcall(function() return x:cuda():index_select(1, torch.tensor({9}):cuda()) end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("out of range", 1, true))
  end)

  it("creation, fills and casts", function()
    compare(torch.arange(0, 10, 0.5), torch.arange(0, 10, 0.5, {device = "cuda"}), 0, "arange")
    compare(torch.full({3, 2}, 2.5), torch.full({3, 2}, 2.5, {device = "cuda"}), 0, "full")
    local x = torch.randn(4, 3) * 100
    for _, dt in ipairs({torch.float64, torch.int64, torch.int32, torch.uint8, torch.bool}) do
      compare(x:to(dt), x:cuda():to(dt), 0, "cast " .. tostring(dt))
    end
  end)

  it("random numbers match the CPU", function()
    for _, dt in ipairs({torch.float32, torch.float64}) do
      torch.manual_seed(11)
      local c = torch.empty(7, 9, {dtype = dt}):uniform_(-2, 3)
      torch.manual_seed(11)
      local g = torch.empty(7, 9, {dtype = dt, device = "cuda"}):uniform_(-2, 3)
      compare(c, g, 0, "uniform")
      torch.manual_seed(12)
      c = torch.empty(50, {dtype = dt}):bernoulli_(0.3)
      torch.manual_seed(12)
      g = torch.empty(50, {dtype = dt, device = "cuda"}):bernoulli_(0.3)
      compare(c, g, 0, "bernoulli")
    end
  end)

  it("matmul shapes", function()
    math.randomseed(5)
    for _ = 1, 10 do
      local m, k, n = math.random(1, 40), math.random(1, 40), math.random(1, 40)
      local a, b = torch.randn(m, k, {dtype = torch.float64}), torch.randn(k, n, {dtype = torch.float64})
      compare(a:matmul(b), a:cuda():matmul(b:cuda()), 1e-12, "mm")
      compare(a:t():contiguous():t():matmul(b), a:cuda():t():contiguous():t():matmul(b:cuda()), 1e-12, "mm t")
    end
    local a, b = torch.randn(2, 3, 4, 5), torch.randn(5, 6)
    compare(a:matmul(b), a:cuda():matmul(b:cuda()), 1e-5, "batched")
    local v = torch.randn(7)
    compare(v:dot(v), v:cuda():dot(v:cuda()), 1e-5, "dot")
  end)
end)
