-- The seed ports under scripts/ run as subprocesses of the nnlua binary ($NNLUA_BIN, else the
-- interpreter running busted, else build/nnlua) in a fast mode, so they never rot: exit
-- status 0 and the key values the seeds print. Also the two library additions they needed:
-- "..." in index keys and matmul's {out=}.

local function absolute(p)
  if p:sub(1, 1) == "/" then return p end
  return (os.getenv("PWD") or ".") .. "/" .. p
end

local function find_bin()
  local env = os.getenv("NNLUA_BIN")
  if env and env ~= "" then return absolute(env) end
  for i = -1, -5, -1 do
    local a = arg and arg[i]
    if a and a:match("nnlua$") then return absolute(a) end
  end
  return absolute("build/nnlua")
end
local BIN = find_bin()

local function q(s) return "'" .. tostring(s):gsub("'", [['\'']]) .. "'" end

-- run(script, args) -> output (stdout + stderr), exit code
local function run(script, args)
  local p = io.popen(q(BIN) .. " " .. q(script) .. " " .. (args or "") .. " 2>&1; echo \"__exit=$?\"")
  local out = p:read("a")
  p:close()
  local code = tonumber(out:match("__exit=(%d+)%s*$"))
  return out, code
end

local function ok(out, code)
  if code ~= 0 then error("exit status " .. tostring(code) .. ":\n" .. out, 2) end
end

local have_fmnist = io.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", "rb")
if have_fmnist then have_fmnist:close() end

describe("seed scripts", function()
  it("xor.lua trains to predictions 1 2 2 1 in its 10,000 steps", function()
    local out, code = run("scripts/xor.lua")
    ok(out, code)
    assert.truthy(out:find("[1] Loss:", 1, true))
    assert.truthy(out:find("[9001] Loss:", 1, true))
    local best = tonumber(out:match("best loss: ([%d%.e%-]+)"))
    assert.is_true(best < 0.001, out)
    assert.truthy(out:find("predictions: 1 2 2 1", 1, true), out)
    assert.truthy(out:find("XOR values (seed's 0/1 classes): 0 1 1 0", 1, true))
    assert.truthy(out:find("state_dict keys: layers.1.bias layers.1.weight layers.3.bias", 1, true))
  end)

  it("xor.lua --steps runs a short training and reloads the checkpoint", function()
    local out, code = run("scripts/xor.lua", "--steps 20")
    ok(out, code)
    assert.truthy(out:find("predictions: [12] [12] [12] [12]"))
    assert.truthy(out:find("grad_fn=<SoftmaxBackward>", 1, true))
  end)

  it("tour_autograd.lua prints seed 001's values (e = 35, a.grad = 7) and seed 004's", function()
    local out, code = run("scripts/tour_autograd.lua")
    ok(out, code)
    assert.truthy(out:find("require gradient? false\ntensor([10.])", 1, true))
    assert.truthy(out:find("tensor([10.], requires_grad=true)", 1, true))
    assert.truthy(out:find("  - e(=35.0): true", 1, true))
    assert.truthy(out:find("  - c(=5.0): true \t/ grad_fn: \t <AddBackward object", 1, true))
    assert.truthy(out:find("  - d(=7.0): false \t/ grad_fn: \t nil", 1, true))
    assert.truthy(out:find("  - a: tensor([7.])", 1, true))
    assert.truthy(out:find("  - b: nil", 1, true))
    assert.truthy(out:find("tensor([True, True])\ntensor([True, True])", 1, true))
    assert.truthy(out:find("a.grad =\ttensor([36., 81.])", 1, true))
    assert.truthy(out:find("<MseLossBackward object", 1, true))
    assert.truthy(out:find("AccumulateGrad  -> tensor([2., 3.], requires_grad=true)", 1, true))
    assert.truthy(out:find("Does `a` require gradients? : false", 1, true))
    assert.truthy(out:find("Does `b` require gradients?: true", 1, true))
    assert.truthy(out:find("after the guard: grad enabled =\ttrue", 1, true))
  end)

  it("tour_tensors.lua prints seed 004's Task 1 values", function()
    local out, code = run("scripts/tour_tensors.lua")
    ok(out, code)
    assert.truthy(out:find("Shape of tensor: torch.Size([3, 4])", 1, true))
    assert.truthy(out:find("Datatype of tensor: float32", 1, true))
    assert.truthy(out:find("Device tensor is stored on: cpu", 1, true))
    assert.truthy(out:find("Last column: tensor([1., 1., 1., 1.])", 1, true))
    assert.truthy(out:find("tensor([[1., 0., 1., 1., 1., 0., 1., 1.],", 1, true))
    assert.truthy(out:find("y1 == y2 == y3:\ttrue", 1, true))
    assert.truthy(out:find("z1 == z2 == z3:\ttrue", 1, true))
    assert.truthy(out:find("12.0\tfloat\ntensor(12.)", 1, true))
    assert.truthy(out:find("tensor([[6., 5., 6., 6.],", 1, true))
    assert.truthy(out:find("t: tensor([2., 2., 2., 2., 2.], dtype=torch.float64)", 1, true))
  end)

  it("mnist_from_scratch.lua walks the refactoring path (fast mode)", function()
    if not have_fmnist then pending("Fashion-MNIST not installed") return end
    local out, code = run("scripts/mnist_from_scratch.lua", "--data /nonexistent --limit 640 --epochs 1")
    ok(out, code)
    assert.truthy(out:find("using Fashion-MNIST", 1, true))
    assert.truthy(out:find("torch.Size([640, 784])\ttensor(1)\ttensor(10)", 1, true))
    for _, s in ipairs { "== from scratch ==", "== nn.functional ==", "== nn.Module ==", "== nn.Linear ==",
      "== optim ==", "== TensorDataset ==", "== DataLoader ==", "== validation ==", "== fit / get_data ==" } do
      assert.truthy(out:find(s, 1, true), s)
    end
    assert.truthy(out:find("grad_fn=<NegBackward>", 1, true))
    assert.truthy(out:find("grad_fn=<CrossEntropyLossBackward>", 1, true))
    local acc = tonumber(out:match("valid accuracy ([%d%.]+)"))
    assert.is_true(acc > 0.3, out)
  end)

  it("finetune_resnet18.lua trains only the new fc head (fast mode)", function()
    if not have_fmnist then pending("Fashion-MNIST not installed") return end
    local out, code = run("scripts/finetune_resnet18.lua", "--steps 2 --batch 4 --eval 8")
    ok(out, code)
    assert.truthy(out:find("pretrained weights: not available offline", 1, true))
    assert.truthy(out:find("trainable: fc.weight torch.Size([10, 512])", 1, true))
    assert.truthy(out:find("parameters: 5130 trainable, 11176512 frozen", 1, true))
    assert.truthy(out:find("[step    2] loss:", 1, true))
    assert.truthy(out:find("frozen parameters with a gradient: 0", 1, true))
    assert.truthy(out:find("Accuracy of the fine-tuned head on 8 held-out test images:", 1, true))
  end)

  describe("seed_examples", function()
    it("000_device.lua", function()
      local out, code = run("scripts/seed_examples/000_device.lua")
      ok(out, code)
      assert.truthy(out:find("Using %a+ device"))
    end)
    it("000_neural_networks.lua", function()
      local out, code = run("scripts/seed_examples/000_neural_networks.lua")
      ok(out, code)
      assert.truthy(out:find("(fc1): Linear(in_features=576, out_features=120, bias=True)", 1, true))
      assert.truthy(out:find("\n10\n", 1, true))
      assert.truthy(out:find("torch.Size([1, 10])", 1, true))
      assert.truthy(out:find("conv1.bias.grad before backprop\ntensor([0., 0., 0., 0., 0., 0.])", 1, true))
      assert.truthy(out:find("(pool1): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)", 1, true))
    end)
    it("001_softmax_and_loss.lua", function()
      local out, code = run("scripts/seed_examples/001_softmax_and_loss.lua")
      ok(out, code)
      assert.truthy(out:find("[0.002 0.000 0.018 0.979]", 1, true))
      assert.truthy(out:find("[[0.002 0.000 0.018 0.979] [0.087 0.644 0.237 0.032]]", 1, true))
      assert.truthy(out:find("tensor([1.0000, 1.0000])", 1, true))
      assert.truthy(out:find("tensor([[-6.0209, -8.0209, -4.0209, -0.0209],", 1, true))
      assert.truthy(out:find("W_new == W_old - 0.1 * grad:\ttrue", 1, true))
    end)
    it("002_build_model.lua", function()
      local out, code = run("scripts/seed_examples/002_build_model.lua")
      ok(out, code)
      assert.truthy(out:find("torch.Size([3, 784])", 1, true))
      assert.truthy(out:find("torch.Size([3, 20])", 1, true))
      assert.truthy(out:find("Layer: linear_relu_stack.1.weight | Size: torch.Size([512, 784])", 1, true))
      assert.truthy(out:find("Layer: linear_relu_stack.5.bias | Size: torch.Size([10])", 1, true))
    end)
    it("004_autograd_usage.lua", function()
      local out, code = run("scripts/seed_examples/004_autograd_usage.lua")
      ok(out, code)
      assert.truthy(out:find("torch.Size([1, 1000])", 1, true))
      assert.truthy(out:find("fc.bias moved by lr * grad:\ttrue", 1, true))
    end)
    it("004_neural_networks.lua", function()
      local out, code = run("scripts/seed_examples/004_neural_networks.lua")
      ok(out, code)
      assert.truthy(out:find("(fc1): Linear(in_features=400, out_features=120, bias=True)", 1, true))
      assert.truthy(out:find("torch.Size([6, 1, 5, 5])", 1, true))
      assert.truthy(out:find("conv1.bias.grad before backward\ntensor([0., 0., 0., 0., 0., 0.])", 1, true))
    end)
    it("004_classifier_idioms.lua", function()
      if not have_fmnist then pending("Fashion-MNIST not installed") return end
      local out, code = run("scripts/seed_examples/004_classifier_idioms.lua", "--steps 20")
      ok(out, code)
      assert.truthy(out:find("Finished Training", 1, true))
      assert.truthy(out:find("Accuracy of the network on the 10000 test images: %d+ %%"))
      assert.truthy(out:find("Accuracy for class: Boot    is", 1, true))
    end)
  end)
end)

describe("library additions for the seeds", function()
  it("t[{\"...\", i}] indexes the last dims (PyTorch's tensor[..., i])", function()
    local t = torch.arange(0, 24):view(2, 3, 4)
    assert.are.same({ { 3, 7, 11 }, { 15, 19, 23 } }, t[{ "...", -1 }]:tolist())
    assert.are.same({ 1, 5, 9 }, t[{ 1, "...", 2 }]:tolist())
    assert.are.same({ 2, 3, 4 }, { table.unpack(t[{ "..." }]:size()) })
    assert.are.same({ 2, 3, 2 }, { table.unpack(t[{ "...", { 1, 2 } }]:size()) })
    local x = torch.ones(4, 4)
    x[{ "...", 2 }] = 0
    assert.are.same({ 1, 0, 1, 1 }, x[1]:tolist())
    assert.has_error(function() return t[{ "...", 1, "..." }] end,
      "t[...]: an index can only have a single ellipsis (\"...\")")
    assert.has_error(function() return t[{ 1, 1, 1, "...", 1 }] end, "t[...]: too many indices for a tensor of 3 dims")
  end)

  it("matmul takes {out=} (same shape and dtype; not differentiable)", function()
    local a = torch.ones(4, 4)
    local y = torch.rand(4, 4)
    local r = torch.matmul(a, a.T, { out = y })
    assert.are.equal(y, r)
    assert.are.same({ 4, 4, 4, 4 }, y[1]:tolist())
    local z = torch.zeros(2)
    torch.mv(torch.ones(2, 3), torch.ones(3), { out = z })
    assert.are.same({ 3, 3 }, z:tolist())
    assert.has_error(function() torch.matmul(a, a, { out = torch.zeros(3) }) end,
      "matmul: output with shape [3] doesn't match the result shape [4, 4]")
    assert.has_error(function() torch.matmul(a, a, { out = torch.zeros(4, 4, { dtype = "float64" }) }) end,
      "matmul: expected out tensor to have dtype float32, but got float64 instead")
    local g = torch.ones(4, 4, { requires_grad = true })
    assert.has_error(function() torch.matmul(g, a, { out = y }) end,
      "matmul: functions with out= arguments don't support automatic differentiation")
    torch.no_grad(function() torch.matmul(g, a, { out = y }) end)
  end)

  it("TensorDataset:get takes a range or an index tensor (PyTorch's ds[a:b])", function()
    local ds = data.TensorDataset(torch.arange(0, 10), torch.arange(10, 20))
    local x, y = ds:get({ 3, 5 })
    assert.are.same({ 2, 3, 4 }, x:tolist())
    assert.are.same({ 12, 13, 14 }, y:tolist())
    x, y = ds:get(torch.tensor({ 1, 10 }))
    assert.are.same({ 0, 9 }, x:tolist())
    assert.are.same({ 10, 19 }, y:tolist())
    x = ds:get(2)
    assert.are.equal(1, x:item())
  end)
end)
