-- The float32 exp kernels (tensor/cpu/expf_simd.c: AVX-512 or AVX2+FMA by the running CPU) and
-- the softmax / log_softmax rows built on them: values against float64 references, IEEE
-- special cases, tails of every length mod 16, the same bits for a contiguous and a strided
-- input (kernel vs the generic per-ISA loop), for NNLUA_SIMD=avx2 and the CPU's own level,
-- and for 1 and 2 threads.
local H = dofile("spec/helpers.lua")
local function f32(x) return (string.unpack("<f", string.pack("<f", x))) end

-- |got - want| in units of float32 spacing at want (subnormal spacing below 2^-126)
local function ulps(got, want)
  if want == 0 then return got == 0 and 0 or math.huge end
  local _, e = math.frexp(want)
  local ulp = math.max(2.0 ^ (e - 24), 2.0 ^ -149)
  return math.abs(got - want) / ulp
end

local function is_nan(v) return v ~= v end

-- inputs spread over exp's float range, subnormal results and the clamps included
local function sample(n)
  local t = {}
  for i = 1, n do t[i] = f32(-104.5 + 194 * ((i * 0.618034) % 1)) end
  return t
end

describe("float32 exp kernels", function()
  -- nl_expf's bound: 0.88 ulp with FMA (the SIMD levels and the per-ISA clones), 1.14 without
  -- (baseline CPUs and the sanitizer build, which has no clones)
  it("are within nl_expf's error bound of exp for every tail length and a long run", function()
    for _, n in ipairs({ 1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 47, 1003 }) do
      local xs = sample(n)
      local got = torch.tensor(xs):exp():tolist()
      for i = 1, n do
        local want = math.exp(xs[i])
        if want < 3.4028234663852886e38 then
          assert(ulps(got[i], want) <= 1.15, string.format("exp(%.9g) = %.9g of %d", xs[i], got[i], n))
        else
          assert.are.equal(math.huge, got[i])
        end
      end
    end
  end)

  it("keep IEEE special values: inf, 0, NaN, overflow and underflow", function()
    local xs = { 0 / 0, math.huge, -math.huge, 100, 88.72284698486328, 88.72283935546875, -103.97208404541015625,
      -103.97207641601562, -104, -200, 0, -0.0, 1, -1, 1e-30, -87.5, -100 }
    local got = torch.tensor(xs):exp():tolist()
    assert.is_true(is_nan(got[1]))
    assert.are.same({ math.huge, 0, math.huge, math.huge }, { got[2], got[3], got[4], got[5] })
    assert.are.equal(f32(math.exp(88.72283935546875)), got[6]) -- FLT_MAX region, finite
    assert.are.same({ 0, 2.0 ^ -149, 0, 0, 1, 1 }, { got[7], got[8], got[9], got[10], got[11], got[12] })
    for i = 13, #xs do assert(ulps(got[i], math.exp(xs[i])) <= 1, "exp(" .. xs[i] .. ")") end
  end)

  it("give the same bits for a contiguous and a strided input", function()
    local x = torch.tensor(sample(2006))
    local dense = x[{ { 1, 2006, 2 } }]:contiguous():exp():tolist()
    local strided = x[{ { 1, 2006, 2 } }]:exp():tolist()
    assert.are.same(dense, strided)
    local sig = x:sigmoid():tolist() -- sigmoid's nl_expf(-x) in the generic loop
    local xs = x:tolist()
    for i = 1, 2006 do
      if math.abs(xs[i]) < 80 then assert(ulps(sig[i], 1 / (1 + math.exp(-xs[i]))) <= 3, "sigmoid(" .. xs[i] .. ")") end
    end
  end)
end)

-- float64 references of one row
local function ref_softmax(row, lg)
  local m = -math.huge
  for _, v in ipairs(row) do m = math.max(m, v) end
  local s = 0
  for _, v in ipairs(row) do s = s + math.exp(v - m) end
  local out = {}
  for i, v in ipairs(row) do out[i] = lg and (v - m - math.log(s)) or math.exp(v - m) / s end
  return out
end

describe("float32 softmax and log_softmax rows", function()
  it("match float64 references for rows of every tail length", function()
    torch.manual_seed(21)
    for _, n in ipairs({ 1, 5, 16, 17, 33, 1000, 1003 }) do
      local x = torch.randn(3, n) * 4
      local rows, sm, ls = x:tolist(), x:softmax(2):tolist(), x:log_softmax(2):tolist()
      for r = 1, 3 do
        local ws, wl = ref_softmax(rows[r], false), ref_softmax(rows[r], true)
        for i = 1, n do
          assert(math.abs(sm[r][i] - ws[i]) <= 2e-6 * ws[i] + 1e-12, string.format("softmax row %d of %d", r, n))
          assert(math.abs(ls[r][i] - wl[i]) <= 2e-6 * math.max(1, math.abs(wl[i])), string.format("log_softmax row %d of %d", r, n))
        end
      end
    end
  end)

  it("are stable for large logits and keep -inf, all -inf and NaN rows as PyTorch", function()
    local x = torch.tensor({ { 1e4, 1e4 - 1, -math.huge, 1e4 }, { -math.huge, -math.huge, -math.huge, -math.huge },
      { 1, 0 / 0, 2, 3 } })
    local sm, ls = x:softmax(2):tolist(), x:log_softmax(2):tolist()
    local w = ref_softmax({ 0, -1, -math.huge, 0 }, false)
    for i = 1, 4 do assert(math.abs(sm[1][i] - w[i]) <= 1e-7) end
    assert.are.equal(0, sm[1][3])
    assert.are.equal(-math.huge, ls[1][3])
    for i = 1, 4 do
      assert.is_true(is_nan(sm[2][i]) and is_nan(ls[2][i]) and is_nan(sm[3][i]) and is_nan(ls[3][i]))
    end
  end)

  it("are identical for 1 and 2 threads", function()
    local n0 = torch.get_num_threads()
    torch.manual_seed(22)
    local x = torch.randn(64, 1000) * 3
    local res = {}
    for _, nt in ipairs({ 1, 2 }) do
      torch.set_num_threads(nt)
      res[nt] = { x:softmax(2):tolist(), x:log_softmax(2):tolist(), x:exp():tolist() }
    end
    torch.set_num_threads(n0)
    assert.are.same(res[1], res[2])
  end)
end)

describe("NNLUA_SIMD=avx2", function()
  -- a child nnlua prints exp, softmax and log_softmax bits; AVX2 and the CPU's best level
  -- (AVX-512 here when the CPU has it) must agree exactly
  local code = [[torch.manual_seed(5) local x = torch.randn(5, 1003) * 9
    local out = {} for _, t in ipairs({ x:exp(), x:softmax(2), x:log_softmax(2) }) do
    for _, v in ipairs(t:view(-1):tolist()) do out[#out + 1] = string.format("%a", v) end end
    io.write(table.concat(out, " "))]]
  local function run(env)
    local f = assert(io.popen(env .. " " .. H.q(H.BIN) .. " -e '" .. code .. "'"))
    local s = f:read("a")
    f:close()
    return s
  end

  it("gives the bits of the default level", function()
    local best, avx2 = run(""), run("NNLUA_SIMD=avx2")
    assert.is_true(#best > 15000)
    assert.are.equal(best, avx2)
  end)
end)
