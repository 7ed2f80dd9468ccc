-- float32 sums follow a summation order fixed in the source (tensor/cpu/reduce.c), so results
-- are bit-identical on every ISA clone and for any thread count. This spec re-computes that
-- order in Lua (float32 rounding through string.pack) and demands exact equality: row sums
-- (blocks of 256 in 16 lanes folded in halves, leaves of 8 blocks, pairwise above 2048) and
-- column sums (float partial sums of 64-row blocks added in double, in block order). The
-- float32 elementwise kernels are per-ISA clones compiled without FMA contraction: a + alpha*b
-- rounds the product, then the sum, on every CPU.
local function f32(x) return (string.unpack("<f", string.pack("<f", x))) end

local function lanes(x, s, m) -- x: Lua array, elements s+1 .. s+m
  local acc = {}
  for l = 0, 15 do acc[l] = 0.0 end
  local i = 0
  while i + 16 <= m do
    for l = 0, 15 do acc[l] = f32(acc[l] + x[s + i + l + 1]) end
    i = i + 16
  end
  local l = 0
  while i < m do
    acc[l] = f32(acc[l] + x[s + i + 1])
    i, l = i + 1, l + 1
  end
  local w = 8
  while w > 0 do
    for k = 0, w - 1 do acc[k] = f32(acc[k] + acc[k + w]) end
    w = w // 2
  end
  return acc[0]
end

local function leaf(x, s, n)
  local b = {}
  for k = 0, 7 do b[k] = 0.0 end
  local k = 0
  while k * 256 < n do
    b[k] = lanes(x, s + k * 256, math.min(256, n - k * 256))
    k = k + 1
  end
  return f32(f32(f32(b[0] + b[1]) + f32(b[2] + b[3])) + f32(f32(b[4] + b[5]) + f32(b[6] + b[7])))
end

local function psum(x, s, n) -- accumulated in double above the leaves
  if n <= 2048 then return leaf(x, s, n) end
  local h = (n // 2 + 2047) // 2048 * 2048
  return psum(x, s, h) + psum(x, s + h, n - h)
end

local function colsum(rows, R, j)
  local acc = 0.0
  for r0 = 1, R, 64 do
    local part = 0.0
    for r = r0, math.min(r0 + 63, R) do part = f32(part + rows[r][j]) end
    acc = acc + part
  end
  return f32(acc)
end

describe("float32 sum order", function()
  it("row sums (the reduced dim contiguous) match the blocked order exactly", function()
    torch.manual_seed(11)
    for _, n in ipairs({ 1, 5, 15, 16, 17, 255, 256, 257, 300, 1000, 1023, 1024, 1025, 2047, 2048, 2049, 5000 }) do
      local t = torch.randn(3, n) * 100 + 0.25
      local got = t:sum(2):tolist()
      local rows = t:tolist()
      for r = 1, 3 do
        assert.are.equal(f32(psum(rows[r], 0, n)), got[r], "row " .. r .. " of length " .. n)
      end
      assert.are.equal(got[1], t[1]:sum():item())
    end
  end)

  it("row sums of many rows with tails of every length match the blocked order", function()
    torch.manual_seed(12)
    for _, n in ipairs({ 3, 16, 17, 31, 255, 257, 1000, 2048 }) do
      local t = torch.randn(9, n) * 10 - 0.5
      local got, rows = t:sum(2):tolist(), t:tolist()
      for r = 1, 9 do assert.are.equal(f32(psum(rows[r], 0, n)), got[r], "row " .. r .. " of length " .. n) end
    end
  end)

  it("sums of -0.0, NaN and inf rows keep IEEE results", function()
    local z = torch.zeros(1000) * -1
    assert.are.equal(0.0, z:sum():item())
    local x = torch.randn(1000)
    x[777] = 0 / 0
    assert.is_true(x:sum():item() ~= x:sum():item())
    x[777] = math.huge
    assert.are.equal(math.huge, x:sum():item())
  end)

  it("column sums (an outer dim reduced) match the blocked order exactly", function()
    torch.manual_seed(12)
    for _, sh in ipairs({ { 7, 37 }, { 65, 5 }, { 130, 1000 }, { 200, 1040 }, { 64, 16 }, { 3, 15 } }) do
      local R, I = sh[1], sh[2]
      local t = torch.randn(R, I) * 10
      local got = t:sum(1):tolist()
      local rows = t:tolist()
      for j = 1, I do
        assert.are.equal(colsum(rows, R, j), got[j], ("column %d of %dx%d"):format(j, R, I))
      end
      -- the same values through a non-contiguous view (made contiguous by the front end)
      local tt = t:t():contiguous():t()
      assert.are.same(got, tt:sum(1):tolist())
    end
    -- O > 1: x[O][R][I] reduced over R
    local t = torch.randn(3, 70, 19)
    local got = t:sum(2):tolist()
    local l = t:tolist()
    for o = 1, 3 do
      for j = 1, 19 do assert.are.equal(colsum(l[o], 70, j), got[o][j]) end
    end
  end)

  it("column sums of wide and narrow parallel problems (prefetched strips) keep the order, 1 or 2 threads", function()
    local n0 = torch.get_num_threads()
    torch.manual_seed(15)
    -- both above the parallel grain: 70x600 (strips of 128 columns and the 8-column tail) and
    -- 1500x40 (24 blocks of 64 rows, the last one short)
    for _, sh in ipairs({ { 70, 600 }, { 1500, 40 } }) do
      local R, I = sh[1], sh[2]
      local t = torch.randn(R, I) * 10
      local rows = t:tolist()
      for _, nt in ipairs({ 1, 2 }) do
        torch.set_num_threads(nt)
        local got = t:sum(1):tolist()
        for j = 1, I do
          assert.are.equal(colsum(rows, R, j), got[j], ("column %d of %dx%d, %d threads"):format(j, R, I, nt))
        end
      end
    end
    torch.set_num_threads(n0)
  end)

  it("large sums are identical for 1 and 2 threads", function()
    local n0 = torch.get_num_threads()
    torch.manual_seed(13)
    local x = torch.rand(1000, 1000)
    local res = {}
    for _, nt in ipairs({ 1, 2 }) do
      torch.set_num_threads(nt)
      res[nt] = { x:sum(1):tolist(), x:sum(2):tolist(), x:sum():item(), x:mean(1):tolist() }
    end
    torch.set_num_threads(n0)
    assert.are.same(res[1], res[2])
  end)
end)

describe("float32 elementwise rounding", function()
  it("add and sub with alpha round twice (no fused multiply-add), dense, scalar and strided", function()
    torch.manual_seed(14)
    local a, b = torch.randn(1003) * 7, torch.randn(1003) * 3
    local al = f32(0.3)
    local ra, rb = a:tolist(), b:tolist()
    local s, d = a:add(b, { alpha = 0.3 }):tolist(), a:sub(b, { alpha = 0.3 }):tolist()
    for i = 1, 1003 do
      assert.are.equal(f32(ra[i] + f32(al * rb[i])), s[i])
      assert.are.equal(f32(ra[i] - f32(al * rb[i])), d[i])
    end
    local sc = a:add(2.5, { alpha = 0.3 }):tolist()
    for i = 1, 1003 do assert.are.equal(f32(ra[i] + f32(al * 2.5)), sc[i]) end
    local st = a[{ { 1, 1003, 2 } }]:add(b[{ { 1, 1003, 2 } }], { alpha = 0.3 }):tolist()
    for i = 1, #st do assert.are.equal(s[2 * i - 1], st[i]) end
    local m = (a * b):tolist()
    for i = 1, 1003 do assert.are.equal(f32(ra[i] * rb[i]), m[i]) end
  end)
end)
