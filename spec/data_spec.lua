-- data_spec: Dataset subclassing, TensorDataset, Subset, random_split, DataLoader (batching,
-- shuffle with seed, drop_last, #loader, default collate, workers), transforms, progress and
-- the class helper. Transform reference values: spec/fixtures/gen_data.py (torch ops).
local fx = dofile("spec/fixtures/data.lua")
local T = data.transforms

local function flat(t) return torch._flat_values(t) end
local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok)
  return tostring(e)
end

local Squares = data.Dataset:extend("Squares")
function Squares:__init(n) self.n = n end
function Squares:__len() return self.n end
function Squares:get(i) return torch.tensor({ i, i * i }), i, { name = "s" .. i, w = i / 2 } end

describe("torch.class", function()
  it("builds classes with __init, super, __name and __tostring", function()
    local class = require "torch.class"
    local A = class("A")
    function A:__init(x) self.x = x end
    function A:__tostring() return "A(" .. self.x .. ")" end
    local B = A:extend("B")
    function B:__init(x, y) B.super.__init(self, x); self.y = y end
    local b = B(1, 2)
    assert.same({ 1, 2, "B" }, { b.x, b.y, b.__name })
    assert.equal("A(1)", tostring(b))
    assert.is_true(class.Object.is_instance(b, A))
    assert.is_false(class.Object.is_instance(A(1), B))
  end)
end)

describe("data.Dataset", function()
  it("supports #ds and get through a Lua subclass", function()
    local ds = Squares(5)
    assert.equal(5, #ds)
    local x, i, t = ds:get(3)
    assert.same({ 3, 9 }, flat(x))
    assert.equal(3, i)
    assert.equal("s3", t.name)
  end)

  it("TensorDataset returns rows and checks sizes", function()
    local ds = data.TensorDataset(torch.arange(0, 6):view(3, 2), torch.tensor { 10, 20, 30 })
    assert.equal(3, #ds)
    local x, y = ds:get(2)
    assert.same({ 2, 3 }, flat(x))
    assert.equal(20, y:item())
    assert.matches("TensorDataset:get: index 4 out of range 1..3", errmsg(ds.get, ds, 4), 1, true)
    assert.matches("size mismatch between tensors (tensor 1 has 3 samples, tensor 2 has 2)",
      errmsg(data.TensorDataset, torch.zeros(3), torch.zeros(2)), 1, true)
  end)

  it("Subset and random_split", function()
    local ds = data.TensorDataset(torch.arange(1, 11))
    local s = data.Subset(ds, { 10, 2, 5 })
    assert.equal(3, #s)
    assert.equal(2, s:get(2):item())
    assert.matches("Subset: index 11 (position 1) out of range 1..10", errmsg(data.Subset, ds, { 11 }), 1, true)
    local parts = data.random_split(ds, { 7, 3 }, { seed = 3 })
    assert.same({ 7, 3 }, { #parts[1], #parts[2] })
    local seen = {}
    for _, p in ipairs(parts) do for i = 1, #p do seen[#seen + 1] = p:get(i):item() end end
    table.sort(seen)
    assert.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, seen)
    local again = data.random_split(ds, { 7, 3 }, { seed = 3 })
    assert.same(parts[2].indices, again[2].indices)
    -- fractions: floor(10 * 0.33) = 3 each, the remainder 1 goes to the first
    local f = data.random_split(ds, { 0.34, 0.33, 0.33 })
    assert.same({ 4, 3, 3 }, { #f[1], #f[2], #f[3] })
    assert.matches("sum of input lengths (9) does not equal the length of the input dataset (10)",
      errmsg(data.random_split, ds, { 4, 5 }), 1, true)
  end)
end)

describe("data.DataLoader", function()
  local x = torch.arange(0, 20):view(10, 2)
  local y = torch.arange(1, 11)
  local ds = data.TensorDataset(x, y)

  it("batches in order, #loader, drop_last", function()
    local l = data.DataLoader(ds, { batch_size = 4 })
    assert.equal(3, #l)
    local got = {}
    for i, a, b in l:iter() do got[i] = { flat(b), a:size(1), a:size(2) } end
    assert.same({ { 1, 2, 3, 4 }, 4, 2 }, got[1])
    assert.same({ { 9, 10 }, 2, 2 }, got[3])
    local d = data.DataLoader(ds, { batch_size = 4, drop_last = true })
    assert.equal(2, #d)
    local n = 0
    for i in d:iter() do n = i end
    assert.equal(2, n)
    assert.equal(10, #data.DataLoader(ds))
  end)

  it("shuffles reproducibly with seed, a new order each epoch, without touching torch's generator", function()
    local function epoch(l)
      local out = {}
      for _, _, b in l:iter() do for _, v in ipairs(flat(b)) do out[#out + 1] = v end end
      return out
    end
    torch.manual_seed(7)
    local r0 = torch.rand(1):item()
    torch.manual_seed(7)
    local l1 = data.DataLoader(ds, { batch_size = 3, shuffle = true, seed = 42 })
    local e1, e2 = epoch(l1), epoch(l1)
    assert.equal(r0, torch.rand(1):item())
    local l2 = data.DataLoader(ds, { batch_size = 3, shuffle = true, seed = 42 })
    assert.same(e1, epoch(l2))
    assert.same(e2, epoch(l2))
    assert.are_not.same(e1, e2)
    local sorted = { table.unpack(e1) }
    table.sort(sorted)
    assert.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, sorted)
    -- rows follow their labels
    for _, a, b in l2:iter() do
      for j = 1, a:size(1) do assert.equal((b[j]:item() - 1) * 2, a[j][1]:item()) end
    end
  end)

  it("gives the same batches with num_workers > 0 (TensorDataset, Subset)", function()
    for _, d in ipairs { ds, data.Subset(ds, { 9, 1, 4, 7, 2 }) } do
      local a, b = {}, {}
      for i, u, v in data.DataLoader(d, { batch_size = 2, shuffle = true, seed = 1 }):iter() do a[i] = { flat(u), flat(v) } end
      for i, u, v in data.DataLoader(d, { batch_size = 2, shuffle = true, seed = 1, num_workers = 3 }):iter() do b[i] = { flat(u), flat(v) } end
      assert.same(a, b)
      assert.equal(#data.DataLoader(d, { batch_size = 2 }), #a)
    end
  end)

  it("stops early without leaking workers", function()
    local l = data.DataLoader(ds, { batch_size = 1, num_workers = 2 })
    for _ = 1, 5 do
      for i in l:iter() do if i == 2 then break end end
    end
    collectgarbage()
  end)

  -- threads of this process (Linux): the workers of an open epoch show up here
  local function nthreads()
    local f = io.open("/proc/self/stat") -- opened by this process: its own pid
    if not f then return 0 end
    local pid = f:read("a"):match("^(%d+)")
    f:close()
    local n = 0
    for _ in io.popen("ls /proc/" .. pid .. "/task"):lines() do n = n + 1 end
    return n
  end

  it("joins its worker threads as soon as the loop is left (break or error)", function()
    local big = data.TensorDataset(torch.arange(1, 401):float():reshape(400, 1), torch.arange(1, 401))
    local l = data.DataLoader(big, { batch_size = 4, num_workers = 3 })
    collectgarbage()
    local base = nthreads()
    if base == 0 then return pending("no /proc/self/task") end
    for i in l:iter() do
      if i == 1 then assert.equal(base + 3, nthreads()) end
      if i == 3 then break end
    end
    assert.equal(base, nthreads())
    assert.is_false(pcall(function()
      for i in l:iter() do if i == 2 then error("stop") end end
    end))
    assert.equal(base, nthreads())
  end)

  it("carries a failure in a worker thread back to Lua as an error, at its batch", function()
    local C = require "data._C"
    local n = 40
    local d = data.TensorDataset(torch.arange(1, n + 1):float():reshape(n, 1), torch.arange(1, n + 1))
    for _, workers in ipairs { 0, 1, 3 } do
      local l = data.DataLoader(d, { batch_size = 4, num_workers = workers })
      C._batch_fault(18) -- sample 18 is in batch 5
      local got = {}
      local ok, err = pcall(function()
        for i, x, y in l:iter() do
          got[#got + 1] = i
          assert.same({ 4 * i - 3, 4 * i - 2, 4 * i - 1, 4 * i }, flat(y))
          assert.same(flat(y), flat(x))
        end
      end)
      C._batch_fault(nil)
      assert.is_false(ok)
      assert.matches("DataLoader: out of memory for a batch of 4", tostring(err), 1, true)
      assert.same({ 1, 2, 3, 4 }, got)
      -- the loader is fine afterwards: a whole epoch, every batch
      local count = 0
      for i, _, y in l:iter() do
        count = count + 1
        assert.equal(4 * i, y[4]:item())
      end
      assert.equal(10, count)
    end
  end)

  it("collates tensors, numbers, strings and tables from Lua datasets", function()
    local l = data.DataLoader(Squares(5), { batch_size = 2 })
    local i, a, n, t = l:iter()()
    assert.equal(1, i)
    assert.same({ 2, 2 }, { a:size(1), a:size(2) })
    assert.same({ 1, 1, 2, 4 }, flat(a))
    assert.equal("int64", n.dtype)
    assert.same({ 1, 2 }, flat(n))
    assert.same({ "s1", "s2" }, t.name)
    assert.equal("float64", t.w.dtype)
    assert.same({ 0.5, 1.0 }, flat(t.w))
    local b = data.default_collate({ true, false })
    assert.equal("bool", b.dtype)
  end)

  it("uses collate_fn", function()
    local l = data.DataLoader(Squares(4), { batch_size = 2, collate_fn = function(samples) return #samples end })
    local got = {}
    for i, c in l:iter() do got[i] = c end
    assert.same({ 2, 2 }, got)
  end)

  it("notes once that Lua datasets load in the main state with workers", function()
    local l = data.DataLoader(Squares(3), { num_workers = 2 })
    local n = 0
    for _ in l:iter() do n = n + 1 end
    assert.equal(3, n)
    assert.is_true(l._noted)
  end)

  it("checks its options", function()
    assert.matches("batch_size must be an integer >= 1, got 0", errmsg(data.DataLoader, ds, { batch_size = 0 }), 1, true)
    assert.matches("argument 1 must be a dataset", errmsg(data.DataLoader, 5), 1, true)
  end)
end)

describe("data.transforms", function()
  local img = torch.tensor(fx.tf_image, { dtype = "uint8" }):view(3, 4, 5)

  it("ToTensor and Normalize match PyTorch", function()
    local t = T.ToTensor()(img)
    assert.equal("float32", t.dtype)
    assert.is_true(torch.allclose(t, torch.tensor(fx.tf_totensor):view(3, 4, 5), 0, 1e-7))
    local n = T.Normalize(fx.tf_mean, fx.tf_std)(t)
    assert.is_true(torch.allclose(n, torch.tensor(fx.tf_normalize):view(3, 4, 5), 1e-6, 1e-6))
    local hw = T.ToTensor()(img[1])
    assert.same({ 1, 4, 5 }, { hw:size(1), hw:size(2), hw:size(3) })
    -- the batched C path gives the same numbers
    local pipe = require("data._C").pipeline({ img:unsqueeze(1):contiguous() }, 1,
      T.Compose { T.ToTensor(), T.Normalize(fx.tf_mean, fx.tf_std) }:_batched())
    local b = pipe:batch({ 1 }, 0)
    assert.is_true(torch.allclose(b[1], n, 0, 0))
  end)

  it("RandomCrop and RandomHorizontalFlip", function()
    local t = T.ToTensor()(img)
    local c = T.RandomCrop({ 2, 3 })(t)
    assert.same({ 3, 2, 3 }, { c:size(1), c:size(2), c:size(3) })
    local p = T.RandomCrop(5, { padding = 1 })(t)
    assert.same({ 3, 5, 5 }, { p:size(1), p:size(2), p:size(3) })
    assert.is_true(torch.equal(T.RandomCrop({ 4, 5 })(t), t))
    assert.is_true(torch.equal(T.RandomHorizontalFlip(1)(t), t:flip(-1)))
    assert.is_true(torch.equal(T.RandomHorizontalFlip(0)(t), t))
    assert.matches("RandomCrop: required crop size (9, 9) is larger than the (padded) input image size (6, 7)",
      errmsg(T.RandomCrop(9, { padding = 1 }), t), 1, true)
    -- batched: flip p=1 reverses W; crop with padding keeps values or zero
    local pipe = require("data._C").pipeline({ img:unsqueeze(1):contiguous() }, 1,
      T.Compose { T.RandomHorizontalFlip(1), T.ToTensor() }:_batched())
    assert.is_true(torch.equal(pipe:batch({ 1 }, 9)[1], t:flip(-1)))
  end)

  it("Compose, Lambda and batched detection", function()
    local f = T.Compose { T.ToTensor(), T.Lambda(function(x) return x:mul(2) end) }
    assert.is_true(torch.allclose(f(img), T.ToTensor()(img):mul(2)))
    assert.is_nil(f:_batched())
    assert.equal(2, #T.Compose { T.ToTensor(), T.Normalize(0.5, 0.5) }:_batched())
    assert.matches("Normalize: expected a float tensor, got uint8", errmsg(T.Normalize(0.5, 0.5), img), 1, true)
    assert.matches("std evaluated to zero", errmsg(T.Normalize, { 0 }, { 0 }), 1, true)
  end)
end)

describe("data.utils.make_grid", function()
  it("lays images out like torchvision", function()
    local b = torch.ones(3, 1, 2, 2)
    local g = data.utils.make_grid(b, { nrow = 2, padding = 1 })
    -- 2 columns x 2 rows: H = 2*(2+1)+1 = 7, W = 7; 3 channels
    assert.same({ 3, 7, 7 }, { g:size(1), g:size(2), g:size(3) })
    assert.equal(12 * 3, g:sum():item())
    local n = data.utils.make_grid(torch.tensor { { { { 2.0, 4.0 } } }, { { { 6.0, 8.0 } } } }, { normalize = true, padding = 0 })
    assert.same({ 0, 1 / 3, 2 / 3, 1 }, (function() local v = flat(n[1]); for i = 1, 4 do v[i] = math.floor(v[i] * 3 + 0.5) / 3 end return v end)())
  end)
end)

describe("data.progress", function()
  it("prints periodic lines when not on a terminal", function()
    local lines = {}
    local out = { write = function(_, ...) for _, s in ipairs { ... } do lines[#lines + 1] = s end end, flush = function() end }
    local l = data.DataLoader(data.TensorDataset(torch.zeros(20)), { batch_size = 2 })
    local p = data.progress(l, { out = out, tty = false, label = "train" })
    local n = 0
    for i in p:iter() do n = i end
    assert.equal(10, n)
    local text = table.concat(lines)
    assert.matches("train 10/10 (100%)", text, 1, true)
    assert.matches("it/s, elapsed", text, 1, true)
    assert.matches("ETA", text, 1, true)
  end)
end)
