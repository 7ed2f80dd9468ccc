-- The main jobs end to end, as a user runs them: scripts/train_cifar.lua on a small dataset in
-- the CIFAR-10 binary format written here (random images), and scripts/train_fashion_mnist.lua
-- in fast mode on the real Fashion-MNIST (when the Debian package's files are installed).
-- Runs the binary in $NNLUA_BIN (scripts/run_tests.sh), else the interpreter running busted,
-- else build/nnlua. --threads 1: the runs are tiny, and a team of threads only costs time.

local H = dofile("spec/helpers.lua")
local q, exists = H.q, H.exists
-- runs `nnlua script args...`, returns the combined output and the exit status
local run = H.run
local tmpdir = H.tmpdir

local function dims(t)
  local s = {}
  for d = 1, t:dim() do s[d] = t:size(d) end
  return s
end

local function png_signature(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read(8)
  f:close()
  return s == "\137PNG\r\n\26\n"
end

-- n CIFAR-10 binary records (1 label byte + 3072 pixel bytes), labels cycling 0..9
local function write_cifar(path, n, seed)
  math.randomseed(seed)
  local f = assert(io.open(path, "wb"))
  for r = 1, n do
    local px = {}
    for k = 1, 3072 do px[k] = math.random(0, 255) end
    f:write(string.char((r - 1) % 10))
    for k = 1, 3072, 512 do f:write(string.char(table.unpack(px, k, k + 511))) end
  end
  f:close()
end

describe("scripts/train_cifar.lua", function()
  local dir
  setup(function()
    dir = tmpdir()
    for b = 1, 5 do write_cifar(dir .. "/data_batch_" .. b .. ".bin", 40, b) end -- 200 training images
    write_cifar(dir .. "/test_batch.bin", 50, 99)
  end)
  teardown(function() os.execute("rm -rf " .. q(dir)) end)

  it("trains the seed's Net on a CIFAR-format folder and reports the loss and accuracies", function()
    local out, rc = run("scripts/train_cifar.lua", "--data " .. q(dir) .. " --epochs 2 --log-every 10 --seed 1 --threads 1")
    assert.are.equal(0, rc, out)
    -- 200 images / batch 4 = 50 mini-batches per epoch: loss lines at 10, 20, ..., 50
    local lines = {}
    for e, i, l in out:gmatch("%[(%d), +(%d+)%] loss: (%d+%.%d%d%d)\n") do lines[#lines + 1] = { tonumber(e), tonumber(i), tonumber(l) } end
    assert.are.equal(10, #lines, out)
    assert.are.same({ 1, 10 }, { lines[1][1], lines[1][2] })
    assert.are.same({ 2, 50 }, { lines[10][1], lines[10][2] })
    for _, l in ipairs(lines) do assert.is_true(l[3] > 1.5 and l[3] < 3.5, out) end -- ~ln(10) on random data
    assert.truthy(out:find("[1,    10] loss: ", 1, true), out) -- the tutorial's format: {i + 1:5d}
    assert.truthy(out:find("Finished Training\n", 1, true), out)
    local acc = out:match("Accuracy of the network on the 50 test images: (%d+) %%\n")
    assert.truthy(acc, out)
    local n = 0
    for name, a in out:gmatch("Accuracy for class: (%a+) +is (%d+%.%d) %%\n") do
      n = n + 1
      assert.is_true(tonumber(a) >= 0 and tonumber(a) <= 100)
      if n == 1 then assert.are.equal("plane", name) end
    end
    assert.are.equal(10, n, out)
    assert.truthy(out:find("Accuracy for class: car   is ", 1, true), out) -- {classname:5s}
  end)

  it("--limit trains on fewer images", function()
    local out, rc = run("scripts/train_cifar.lua", "--data " .. q(dir) .. " --epochs 1 --limit 40 --log-every 5 --threads 1")
    assert.are.equal(0, rc, out)
    local n = 0
    for _ in out:gmatch("%[1, +%d+%] loss:") do n = n + 1 end
    assert.are.equal(2, n, out) -- 40 / 4 = 10 mini-batches
  end)

  it("explains missing data: which files, where, and where to get them", function()
    local out, rc = run("scripts/train_cifar.lua", "--data " .. q(dir .. "/nowhere"))
    assert.are.equal(1, rc, out)
    assert.truthy(out:find("data_batch_1.bin", 1, true), out)
    assert.truthy(out:find("test_batch.bin", 1, true), out)
    assert.truthy(out:find(dir .. "/nowhere", 1, true), out)
    assert.truthy(out:find("binary version (suitable for C programs)", 1, true), out)
    assert.truthy(out:find("cifar-10-binary.tar.gz", 1, true), out)
  end)

  it("rejects bad options", function()
    local out, rc = run("scripts/train_cifar.lua", "--epochs zero")
    assert.are.equal(2, rc, out)
    assert.truthy(out:find("--epochs expects an integer, got 'zero'", 1, true), out)
    out, rc = run("scripts/train_cifar.lua", "--bogus 1")
    assert.are.equal(2, rc, out)
    assert.truthy(out:find("unknown option --bogus", 1, true), out)
  end)
end)

local FASHION = "/usr/share/datasets/fashion-mnist"
local have_fashion = exists(FASHION .. "/train-images-idx3-ubyte.gz") or exists(FASHION .. "/train-images-idx3-ubyte")

describe("scripts/train_fashion_mnist.lua", function()
  if not have_fashion then
    pending("Fashion-MNIST is not installed in " .. FASHION .. " (apt-get install dataset-fashion-mnist)")
    return
  end
  local dir
  setup(function() dir = tmpdir() end)
  teardown(function() os.execute("rm -rf " .. q(dir)) end)

  it("trains in fast mode, evaluates, checkpoints, plots, and resumes", function()
    -- batch 8: 250 steps, enough to learn something from 2000 images in a second
    local common = "--limit 2000 --batch-size 8 --no-progress --threads 1 --seed 3 --out " .. q(dir)
    local out, rc = run("scripts/train_fashion_mnist.lua", "--epochs 1 " .. common)
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("Fashion-MNIST: 2000 training images, 10000 test images", 1, true), out)
    local acc = tonumber(out:match("Accuracy of the network on the 10000 test images: (%d+) %%\n"))
    assert.truthy(acc, out)
    assert.is_true(acc >= 30, out) -- 250 steps of SGD with momentum: well above chance (10 %)
    local n = 0
    for _ in out:gmatch("Accuracy for class: [%w/%- ]+ is %d+%.%d %%\n") do n = n + 1 end
    assert.are.equal(10, n, out)
    assert.truthy(out:find("Accuracy for class: T-shirt/top is ", 1, true), out)
    assert.truthy(out:match("total wall time: %d+%.%d s"), out)
    -- the checkpoint loads, with the model's and the optimizer's state and the epoch
    local ck = torch.load(dir .. "/checkpoint.safetensors")
    assert.are.equal(1, ck.epoch)
    assert.are.same({ 6, 1, 3, 3 }, dims(ck.model["conv1.weight"]))
    assert.are.same({ 10, 84 }, dims(ck.model["fc3.weight"]))
    assert.truthy(ck.optimizer.state and ck.optimizer.param_groups, "optimizer state_dict")
    assert.is_true(#ck.losses >= 1)
    -- the PNGs: valid files, decodable, the expected sizes
    for _, name in ipairs { "loss_curve.png", "predictions.png" } do
      assert.is_true(png_signature(dir .. "/" .. name), name)
      local img = require("data._C").png_read(dir .. "/" .. name)
      assert.are.equal("uint8", img.dtype)
      assert.are.equal(3, img:size(3))
    end
    local curve = require("data._C").png_read(dir .. "/loss_curve.png")
    assert.are.same({ 300, 480, 3 }, dims(curve))
    local grid = require("data._C").png_read(dir .. "/predictions.png") -- 4 rows of 8 tiles 28x32 + padding 2
    assert.are.same({ 4 * 34 + 2, 8 * 30 + 2, 3 }, dims(grid))
    -- predicted labels printed in grid order: 4 rows of 8
    local rows = 0
    for line in out:gmatch("\n  ([^\n]+)") do
      local k = select(2, line:gsub(" | ", ""))
      if k == 7 then rows = rows + 1 end
    end
    assert.are.equal(4, rows, out)

    -- --resume continues from epoch 2 (the checkpoint's weights, not a fresh model)
    local out2, rc2 = run("scripts/train_fashion_mnist.lua", "--epochs 2 --resume " .. common)
    assert.are.equal(0, rc2, out2)
    assert.truthy(out2:find("Resumed from " .. dir .. "/checkpoint.safetensors: 1 epoch(s) done", 1, true), out2)
    assert.is_nil(out2:find("[1,", 1, true), out2)
    assert.truthy(out2:find("[2,   250] loss: ", 1, true), out2)
    local ck2 = torch.load(dir .. "/checkpoint.safetensors")
    assert.are.equal(2, ck2.epoch)
    assert.is_true(#ck2.losses > #ck.losses)
    local acc2 = tonumber(out2:match("Accuracy of the network on the 10000 test images: (%d+) %%\n"))
    assert.is_true(acc2 >= 30, out2)

    -- --resume with every epoch done only evaluates
    local out3, rc3 = run("scripts/train_fashion_mnist.lua", "--epochs 2 --resume " .. common)
    assert.are.equal(0, rc3, out3)
    assert.is_nil(out3:find("loss: ", 1, true), out3)
    assert.truthy(out3:find("Accuracy of the network on the 10000 test images: " .. acc2 .. " %", 1, true), out3)
  end)

  it("--resume without a checkpoint and bad options are clear errors", function()
    local out, rc = run("scripts/train_fashion_mnist.lua", "--resume --out " .. q(dir .. "/empty"))
    assert.are.equal(2, rc, out)
    assert.truthy(out:find("--resume: no checkpoint at " .. dir .. "/empty/checkpoint.safetensors", 1, true), out)
    out, rc = run("scripts/train_fashion_mnist.lua", "--model vgg")
    assert.are.equal(2, rc, out)
    assert.truthy(out:find("--model must be cnn or mlp, got 'vgg'", 1, true), out)
  end)
end)
