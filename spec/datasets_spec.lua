-- datasets_spec: MNIST / FashionMNIST / CIFAR10 on small files written here in the real
-- formats (IDX raw and .gz, CIFAR-10 .bin), their error messages, and the real FashionMNIST
-- files when /usr/share/datasets/fashion-mnist exists (reference numbers from gen_data.py).
local fx = dofile("spec/fixtures/data.lua")

local H = dofile("spec/helpers.lua")
local tmp = H.tmpdir()
local write = H.writefile

-- n images of 28x28 where pixel (r, c) of image k is (k * 7 + r * 28 + c) % 256; labels k % 10
local function pixel(k, r, c) return (k * 7 + r * 28 + c) % 256 end
local function idx_images(n, magic, rows)
  local parts = { string.pack(">I4I4I4I4", magic or 2051, n, rows or 28, 28) }
  for k = 0, n - 1 do
    local b = {}
    for r = 0, (rows or 28) - 1 do for c = 0, 27 do b[#b + 1] = string.char(pixel(k, r, c)) end end
    parts[#parts + 1] = table.concat(b)
  end
  return table.concat(parts)
end
local function idx_labels(n, count)
  local b = { string.pack(">I4I4", 2049, count or n) }
  for k = 0, n - 1 do b[#b + 1] = string.char(k % 10) end
  return table.concat(b)
end

local function mnist_dir(name, n, gz)
  local d = tmp .. "/" .. name
  os.execute("mkdir -p " .. d)
  write(d .. "/train-images-idx3-ubyte", idx_images(n))
  write(d .. "/train-labels-idx1-ubyte", idx_labels(n))
  write(d .. "/t10k-images-idx3-ubyte", idx_images(3))
  write(d .. "/t10k-labels-idx1-ubyte", idx_labels(3))
  if gz then assert(os.execute("gzip -f " .. d .. "/*")) end
  return d
end

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok)
  return tostring(e)
end

describe("data.datasets.MNIST", function()
  for _, gz in ipairs { false, true } do
    it("reads IDX files " .. (gz and "(gzipped)" or "(raw)"), function()
      local d = mnist_dir(gz and "mgz" or "mraw", 12, gz)
      local ds = data.datasets.MNIST { root = d }
      assert.equal(12, #ds)
      assert.equal("uint8", ds.data.dtype)
      assert.same({ 12, 28, 28 }, { ds.data:size(1), ds.data:size(2), ds.data:size(3) })
      assert.equal("int64", ds.targets.dtype)
      local x, y = ds:get(4)
      assert.equal(4, y) -- label 3 -> 4 (1-based)
      assert.equal(math.type(y), "integer")
      assert.same({ 28, 28 }, { x:size(1), x:size(2) })
      assert.equal(pixel(3, 0, 0), x[1][1]:item())
      assert.equal(pixel(3, 27, 27), x[28][28]:item())
      assert.equal(pixel(3, 5, 9), x[6][10]:item())
      local _, y12 = ds:get(-1)
      assert.equal(2, y12) -- image 11: label 1 -> 2
      local test = data.datasets.MNIST { root = d, train = false }
      assert.equal(3, #test)
      assert.equal(10, #ds.classes)
    end)
  end

  it("applies transform and target_transform in get", function()
    local d = mnist_dir("mtf", 4)
    local ds = data.datasets.MNIST { root = d, transform = data.transforms.ToTensor(),
      target_transform = function(y) return y * 10 end }
    local x, y = ds:get(2)
    assert.equal(20, y)
    assert.same({ 1, 28, 28 }, { x:size(1), x:size(2), x:size(3) })
    assert.equal("float32", x.dtype)
    assert.is_true(math.abs(x[1][1][2]:item() - pixel(1, 0, 1) / 255) < 1e-7)
  end)

  it("names the path and the source when a file is missing", function()
    local e = errmsg(data.datasets.MNIST, { root = tmp .. "/nowhere" })
    assert.matches("MNIST: cannot find " .. tmp:gsub("%p", "%%%0") .. "/nowhere/train%-images%-idx3%-ubyte%[%.gz%]", e)
    assert.matches("yann.lecun.com", e, 1, true)
    e = errmsg(data.datasets.FashionMNIST, { root = tmp .. "/nowhere" })
    assert.matches("apt-get install dataset-fashion-mnist", e, 1, true)
  end)

  it("rejects a wrong magic number, a truncated file and a wrong label count", function()
    local d = mnist_dir("mbad", 5)
    write(d .. "/train-images-idx3-ubyte", idx_images(5, 2049))
    local e = errmsg(data.datasets.MNIST, { root = d })
    assert.matches("train-images-idx3-ubyte", e, 1, true)
    assert.matches("magic number 0x00000803 (2051), got 0x00000801", e, 1, true)

    write(d .. "/train-images-idx3-ubyte", idx_images(5):sub(1, -100))
    e = errmsg(data.datasets.MNIST, { root = d })
    assert.matches("truncated: header dims [5, 28, 28] need 3920 data bytes, the file has 3821", e, 1, true)

    write(d .. "/train-images-idx3-ubyte", idx_images(5))
    write(d .. "/train-labels-idx1-ubyte", idx_labels(4))
    e = errmsg(data.datasets.MNIST, { root = d })
    assert.matches("train-labels-idx1-ubyte: expected 5 items, the header says 4", e, 1, true)

    write(d .. "/train-labels-idx1-ubyte", "")
    e = errmsg(data.datasets.MNIST, { root = d })
    assert.matches("shorter than 4 bytes", e, 1, true)
  end)

  it("gathers batches in C with batched transforms equal to per-sample get", function()
    local d = mnist_dir("mload", 10)
    local T = data.transforms
    local ds = data.datasets.MNIST { root = d, transform = T.Compose { T.ToTensor(), T.Normalize({ 0.1307 }, { 0.3081 }) } }
    local loader = data.DataLoader(ds, { batch_size = 4 })
    assert.equal(3, #loader)
    local n = 0
    for i, x, y in loader:iter() do
      assert.equal("float32", x.dtype)
      assert.equal(x:size(2), 1)
      for j = 1, x:size(1) do
        local xi, yi = ds:get((i - 1) * 4 + j)
        assert.is_true(torch.allclose(x[j], xi, 1e-6, 1e-6))
        assert.equal(yi, y[j]:item())
        n = n + 1
      end
    end
    assert.equal(10, n)
  end)
end)

describe("data.datasets.CIFAR10", function()
  local function rec(k) -- label k % 10, pixel p = (k + p) % 256
    local b = { string.char(k % 10) }
    for p = 0, 3071 do b[#b + 1] = string.char((k + p) % 256) end
    return table.concat(b)
  end
  local d = tmp .. "/cifar"
  os.execute("mkdir -p " .. d .. "/cifar-10-batches-bin")
  local k = 0
  for f = 1, 5 do
    local b = {}
    for _ = 1, 2 do b[#b + 1] = rec(k); k = k + 1 end
    write(d .. "/cifar-10-batches-bin/data_batch_" .. f .. ".bin", table.concat(b))
  end
  write(d .. "/cifar-10-batches-bin/test_batch.bin", rec(3) .. rec(4) .. rec(5))

  it("reads the binary batches", function()
    local ds = data.datasets.CIFAR10 { root = d }
    assert.equal(10, #ds)
    assert.same({ 10, 3, 32, 32 }, { ds.data:size(1), ds.data:size(2), ds.data:size(3), ds.data:size(4) })
    local x, y = ds:get(8)
    assert.equal(8, y) -- record 7: label 7 -> 8
    assert.equal(7, x[1][1][1]:item())
    assert.equal((7 + 1024 + 32 + 2) % 256, x[2][2][3]:item())
    assert.equal("airplane", ds.classes[1])
    local test = data.datasets.CIFAR10 { root = d .. "/cifar-10-batches-bin", train = false }
    assert.equal(3, #test)
    assert.same({ 4, 5, 6 }, test.targets:tolist())
  end)

  it("reports missing and malformed batches", function()
    local e = errmsg(data.datasets.CIFAR10, { root = tmp .. "/none" })
    assert.matches("cannot find", e, 1, true)
    assert.matches("data_batch_1.bin", e, 1, true)
    assert.matches("cifar-10-binary.tar.gz", e, 1, true)
    local b = tmp .. "/cifarbad"
    os.execute("mkdir -p " .. b)
    write(b .. "/test_batch.bin", rec(1) .. "xyz")
    e = errmsg(data.datasets.CIFAR10, { root = b, train = false })
    assert.matches("records of 3073 bytes (1 label + 3x32x32 pixels), the file has 3076 bytes", e, 1, true)
  end)

  it("batches with RandomCrop + flip + ToTensor + Normalize, same with workers", function()
    local T = data.transforms
    local tf = T.Compose { T.RandomCrop(32, { padding = 4 }), T.RandomHorizontalFlip(), T.ToTensor(),
      T.Normalize({ 0.5, 0.5, 0.5 }, { 0.25, 0.25, 0.25 }) }
    local ds = data.datasets.CIFAR10 { root = d, transform = tf }
    local function run(nw)
      local out = {}
      for _, x, y in data.DataLoader(ds, { batch_size = 3, shuffle = true, seed = 5, num_workers = nw }):iter() do
        out[#out + 1] = { x, y }
      end
      return out
    end
    local a, b = run(0), run(3)
    assert.equal(4, #a)
    for i = 1, 4 do
      assert.is_true(torch.equal(a[i][1], b[i][1]))
      assert.is_true(torch.equal(a[i][2], b[i][2]))
    end
    assert.same({ 3, 3, 32, 32 }, { a[1][1]:size(1), a[1][1]:size(2), a[1][1]:size(3), a[1][1]:size(4) })
    -- values are (pixel / 255 - 0.5) / 0.25 or 0 padding -> -2
    assert.is_true(a[1][1]:min():item() >= -2 - 1e-6 and a[1][1]:max():item() <= 2 + 1e-6)
  end)
end)

local root = "/usr/share/datasets/fashion-mnist"
local have = io.open(root .. "/train-labels-idx1-ubyte.gz", "rb")
if have then have:close() end
describe("data.datasets.FashionMNIST (real files)", function()
  if not have or not fx.fashion then
    it("is skipped: " .. root .. " not installed", function() end)
    return
  end
  for _, split in ipairs { "train", "test" } do
    it("decodes the " .. split .. " split", function()
      local t0 = torch.time()
      local ds = data.datasets.FashionMNIST { train = split == "train" }
      print(string.format("\n  FashionMNIST %s: %d images decoded in %.3f s", split, #ds, torch.time() - t0))
      local ref = fx.fashion[split]
      assert.equal(ref.n, #ds)
      assert.same({ ref.n, 28, 28 }, { ds.data:size(1), ds.data:size(2), ds.data:size(3) })
      for i = 1, 10 do
        local x, y = ds:get(i)
        assert.equal(ref.first_labels[i], y)
        assert.equal(ref.first_sums[i], x:long():sum():item())
      end
      assert.equal(ref.total_sum, ds.data:long():sum():item())
      for c = 1, 10 do assert.equal(ref.label_counts[c], ds.targets:eq(c):long():sum():item()) end
      assert.equal("Ankle boot", ds.classes[10])
    end)
  end
end)
