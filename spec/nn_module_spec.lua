-- nn.Module (lua/nn/Module.lua): registration on assignment, iteration, names, state_dict and
-- load_state_dict (strict errors, shape mismatch, torch.save/load round trip), train/eval,
-- to(dtype) keeping tensor identity, zero_grad, apply, printing in PyTorch's layout (the
-- seeds' Net and NeuralNetwork, torchvision's ResNet-18), lazy class loading.
local lenet = dofile("scripts/models/lenet.lua")
local mlp = dofile("scripts/models/mlp.lua")
local resnet = dofile("scripts/models/resnet.lua")

local function names(it)
  local out = {}
  for n in it do out[#out + 1] = n end
  return out
end
local function shape(t) return { table.unpack(t.shape) } end

describe("nn.Module", function()
  it("loads classes lazily and names missing ones", function()
    assert.are.equal("Linear", nn.Linear.__name)
    assert.is_true(nn.Module.is_module(nn.Linear(1, 1)))
    assert.has_error(function() return nn.Foo end, "nn has no class 'Foo'")
    assert.is_table(nn.init)
    assert.is_function(nn.init.kaiming_uniform_)
    assert.is_function(nn.utils.clip_grad_norm_)
  end)

  it("registers children and parameters in assignment order", function()
    local M = nn.Module:extend("M")
    function M:__init()
      self.b = nn.Linear(2, 3)
      self.scale = nn.Parameter(torch.ones(3))
      self.a = nn.Linear(3, 1)
      self.plain = torch.zeros(2)   -- a plain tensor is an ordinary attribute
      self.n = 5
      self:register_buffer("stat", torch.zeros(3))
      self:register_buffer("tmp", torch.zeros(1), false)
    end
    local m = M()
    assert.is_true(m.training)
    -- PyTorch's order: a module's own parameters, then its children's (pre-order)
    assert.are.same({ "scale", "b.weight", "b.bias", "a.weight", "a.bias" }, names(m:named_parameters()))
    assert.are.equal(5, #m:parameters())
    assert.are.same({ "b", "a" }, names(m:named_children()))
    assert.are.same({ "", "b", "a" }, names(m:named_modules()))
    assert.are.equal(3, #m:modules())
    assert.are.same({ "stat", "tmp" }, names(m:named_buffers()))
    assert.are.equal(2, #m:buffers())
    local keys = {}
    for k in pairs(m:state_dict()) do keys[#keys + 1] = k end
    table.sort(keys)
    assert.are.same({ "a.bias", "a.weight", "b.bias", "b.weight", "scale", "stat" }, keys)
    assert.are.equal(5, m.n)
    assert.is_true(torch.is_tensor(m.plain))
    -- reassigning replaces in place, nil removes
    m.b = nn.Linear(2, 3, false)
    assert.are.same({ "scale", "b.weight", "a.weight", "a.bias" }, names(m:named_parameters()))
    m.a = nil
    assert.are.same({ "scale", "b.weight" }, names(m:named_parameters()))
    assert.is_nil(m.a)
    assert.has_error(function() m.scale = torch.ones(3) end,
      "cannot assign 'tensor' as parameter 'scale' (nn.Parameter or nil expected)")
    -- parameters() is a list and an iterator; shared parameters are listed once
    local count = 0
    for p in m:parameters() do count = count + 1; assert.is_true(torch.is_tensor(p)) end
    assert.are.equal(2, count)
    local shared = nn.Sequential(m.b, m.b)
    assert.are.equal(1, #shared:parameters())
  end)

  it("subclasses of user classes call the parent's __init", function()
    local Base = nn.Module:extend("Base")
    function Base:__init(n) self.fc = nn.Linear(n, n) end
    function Base:forward(x) return self.fc(x) end
    local Sub = Base:extend("Sub")
    function Sub:__init(n)
      Base.__init(self, n)
      self.out = nn.Linear(n, 1)
    end
    function Sub:forward(x) return self.out(Base.forward(self, x)) end
    local s = Sub(3)
    assert.are.same({ "fc.weight", "fc.bias", "out.weight", "out.bias" }, names(s:named_parameters()))
    assert.are.same({ 2, 1 }, shape(s(torch.randn(2, 3))))
    assert.are.equal("Sub(\n  (fc): Linear(in_features=3, out_features=3, bias=True)\n  (out): Linear(in_features=3, out_features=1, bias=True)\n)",
      tostring(s))
  end)

  it("train/eval propagate; requires_grad_, zero_grad, apply", function()
    local m = mlp.NeuralNetwork()
    m:eval()
    for _, c in ipairs(m:modules()) do assert.is_false(c.training) end
    m:train()
    assert.is_true(m.linear_relu_stack[3].training)
    m.linear_relu_stack:train(false)
    assert.is_true(m.training)
    assert.is_false(m.linear_relu_stack[1].training)
    local y = m(torch.randn(2, 28, 28)):sum()
    y:backward()
    for _, p in ipairs(m:parameters()) do assert.is_true(torch.is_tensor(p.grad)) end
    m:zero_grad({ set_to_none = false })
    for _, p in ipairs(m:parameters()) do assert.are.equal(0, p.grad:abs():sum():item()) end
    m:zero_grad()
    for _, p in ipairs(m:parameters()) do assert.is_nil(p.grad) end
    m:requires_grad_(false)
    for _, p in ipairs(m:parameters()) do assert.is_false(p.requires_grad) end
    local visited = {}
    m:apply(function(mod) visited[#visited + 1] = mod.__name end)
    assert.are.same({ "Flatten", "Linear", "ReLU", "Linear", "ReLU", "Linear", "Sequential", "NeuralNetwork" }, visited)
  end)

  it("to(dtype) converts in place, keeping tensor identity", function()
    local m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    local w = m[1].weight
    local params = m:parameters()
    m[1](torch.randn(4, 3)):sum():backward()
    m:double()
    assert.are.equal(w, m[1].weight)
    assert.are.equal(params[1], m[1].weight)
    assert.are.equal("float64", w.dtype)
    assert.are.equal("float64", w.grad.dtype)
    assert.is_true(w.requires_grad and w.is_leaf)
    assert.are.equal("float64", m[2].running_mean.dtype)
    assert.are.equal("int64", m[2].num_batches_tracked.dtype) -- integer buffers keep their dtype
    m:to("float32")
    assert.are.equal("float32", params[1].dtype)
    m:float():cpu()
    assert.are.equal("float32", w.dtype)
    assert.has_error(function() m:to("int64") end,
      "to: nn.Module.to only accepts floating point dtypes, but got desired dtype=int64")
  end)

  it("state_dict round trip through torch.save/load and load_state_dict", function()
    local a, b = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)), nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    torch.no_grad(function() a[2].running_mean:fill_(0.5) end)
    local path = os.tmpname()
    torch.save(a:state_dict(), path)
    local sd = torch.load(path)
    os.remove(path)
    local missing, unexpected = b:load_state_dict(sd)
    assert.are.same({}, missing)
    assert.are.same({}, unexpected)
    assert.is_true(torch.equal(a[1].weight, b[1].weight))
    assert.is_true(torch.equal(b[2].running_mean, torch.full({ 4 }, 0.5)))
    local keys = {}
    for k in pairs(sd) do keys[#keys + 1] = k end
    table.sort(keys)
    assert.are.same({ "1.bias", "1.weight", "2.bias", "2.num_batches_tracked", "2.running_mean", "2.running_var",
      "2.weight" }, keys)
    -- the state dict shares storage with the module
    local s2 = a:state_dict()
    torch.no_grad(function() s2["1.bias"]:fill_(7) end)
    assert.are.equal(7, a[1].bias[1]:item())
  end)

  it("load_state_dict: strict errors, non-strict lists, shape mismatch", function()
    local m = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    local sd = m:state_dict()
    sd["2.bias"] = nil
    sd["extra"] = torch.zeros(1)
    local ok, err = pcall(m.load_state_dict, m, sd)
    assert.is_false(ok)
    assert.truthy(err:find('Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in state_dict: "2.bias". \n\tUnexpected key(s) in state_dict: "extra". ', 1, true))
    local missing, unexpected = m:load_state_dict(sd, { strict = false })
    assert.are.same({ "2.bias" }, missing)
    assert.are.same({ "extra" }, unexpected)
    sd = m:state_dict()
    sd["1.weight"] = torch.zeros(4, 5)
    ok, err = pcall(m.load_state_dict, m, sd, { strict = false })
    assert.is_false(ok)
    assert.truthy(err:find("size mismatch for 1.weight: copying a param with shape [4, 5] from checkpoint, the shape in current model is [4, 3].", 1, true))
  end)

  it("register_buffer / register_parameter / add_module validate names", function()
    local m = nn.Module()
    assert.has_error(function() m:register_buffer("a.b", torch.zeros(1)) end, 'register_buffer: name can\'t contain ".", got "a.b"')
    assert.has_error(function() m:add_module("x", 3) end, "add_module: number is not a Module subclass")
    m:register_parameter("w", nn.Parameter(torch.zeros(2)))
    m:add_module("lin", nn.Linear(1, 1))
    assert.are.same({ "w", "lin.weight", "lin.bias" }, names(m:named_parameters()))
    assert.are.equal("Module(\n  (lin): Linear(in_features=1, out_features=1, bias=True)\n)", tostring(m))
    local p = nn.Parameter(torch.ones(2), false)
    assert.is_false(p.requires_grad)
  end)

  it("forward hooks", function()
    local l = nn.Linear(2, 2)
    local seen
    local h = l:register_forward_hook(function(mod, args, out) seen = out; return out * 0 end)
    local y = l(torch.ones(1, 2))
    assert.are.equal(0, y:abs():sum():item())
    assert.is_true(torch.is_tensor(seen))
    h.remove()
    assert.is_true(l(torch.ones(1, 2)):abs():sum():item() > 0)
  end)

  it("containers: Sequential, ModuleList, ModuleDict", function()
    local s = nn.Sequential({ { "conv", nn.Conv2d(1, 2, 3) }, { "act", nn.ReLU() } })
    assert.are.equal("Sequential(\n  (conv): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))\n  (act): ReLU()\n)", tostring(s))
    assert.are.equal(2, #s)
    assert.are.equal("ReLU", s[-1].__name)
    assert.are.equal("ReLU", s.act.__name)
    local ml = nn.ModuleList({ nn.Linear(1, 2), nn.Linear(2, 3) })
    ml:append(nn.Linear(3, 4))
    ml:insert(1, nn.Identity())
    assert.are.equal(4, #ml)
    local seen = {}
    for i, m in ipairs(ml) do seen[i] = m.__name end
    assert.are.same({ "Identity", "Linear", "Linear", "Linear" }, seen)
    assert.are.same({ "2.weight", "2.bias", "3.weight", "3.bias", "4.weight", "4.bias" }, names(ml:named_parameters()))
    ml:extend({ nn.ReLU() })
    assert.are.equal(5, #ml)
    local md = nn.ModuleDict({ b = nn.Linear(1, 1), a = nn.ReLU() })
    assert.are.same({ "a", "b" }, md:keys())
    assert.are.equal("Linear", md.b.__name)
    local items = {}
    for k, v in md:items() do items[#items + 1] = k .. "=" .. v.__name end
    assert.are.same({ "a=ReLU", "b=Linear" }, items)
    assert.are.equal(2, #md)
  end)
end)

describe("nn.Module printing", function()
  it("prints seed 000's Net exactly", function()
    assert.are.equal([[
Net(
  (conv1): Conv2d(1, 6, kernel_size=(3, 3), stride=(1, 1))
  (conv2): Conv2d(6, 16, kernel_size=(3, 3), stride=(1, 1))
  (fc1): Linear(in_features=576, out_features=120, bias=True)
  (fc2): Linear(in_features=120, out_features=84, bias=True)
  (fc3): Linear(in_features=84, out_features=10, bias=True)
)]], tostring(lenet.Net()))
    assert.are.equal(10, #lenet.Net():parameters())
    assert.are.equal([[
Net(
  (conv1): Conv2d(3, 6, kernel_size=(5, 5), stride=(1, 1))
  (pool): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  (conv2): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))
  (fc1): Linear(in_features=400, out_features=120, bias=True)
  (fc2): Linear(in_features=120, out_features=84, bias=True)
  (fc3): Linear(in_features=84, out_features=10, bias=True)
)]], tostring(lenet.CifarNet()))
  end)

  it("prints seed 002's NeuralNetwork (1-based Sequential children and Flatten dims)", function()
    local m = mlp.NeuralNetwork()
    assert.are.equal([[
NeuralNetwork(
  (flatten): Flatten(start_dim=2, end_dim=-1)
  (linear_relu_stack): Sequential(
    (1): Linear(in_features=784, out_features=512, bias=True)
    (2): ReLU()
    (3): Linear(in_features=512, out_features=512, bias=True)
    (4): ReLU()
    (5): Linear(in_features=512, out_features=10, bias=True)
  )
)]], tostring(m))
    assert.are.same({ "linear_relu_stack.1.weight", "linear_relu_stack.1.bias", "linear_relu_stack.3.weight",
      "linear_relu_stack.3.bias", "linear_relu_stack.5.weight", "linear_relu_stack.5.bias" }, names(m:named_parameters()))
    assert.are.same({ 3, 10 }, shape(m(torch.rand(3, 28, 28))))
  end)

  it("ResNet-18 matches torchvision's layout and parameter count", function()
    local m = resnet.resnet18()
    local n = 0
    for _, p in ipairs(m:parameters()) do n = n + p:numel() end
    assert.are.equal(11689512, n)
    local n34 = 0
    for _, p in ipairs(resnet.resnet34():parameters()) do n34 = n34 + p:numel() end
    assert.are.equal(21797672, n34)
    local k = 0
    for _ in pairs(m:state_dict()) do k = k + 1 end
    assert.are.equal(122, k)
    local s = tostring(m)
    local head = [[
ResNet(
  (conv1): Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)
  (bn1): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
  (relu): ReLU(inplace=True)
  (maxpool): MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)
  (layer1): Sequential(
    (1): BasicBlock(
      (conv1): Conv2d(64, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn1): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      (relu): ReLU(inplace=True)
      (conv2): Conv2d(64, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn2): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    )]]
    assert.are.equal(head, s:sub(1, #head))
    local mid = [[
  (layer2): Sequential(
    (1): BasicBlock(
      (conv1): Conv2d(64, 128, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)
      (bn1): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      (relu): ReLU(inplace=True)
      (conv2): Conv2d(128, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn2): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      (downsample): Sequential(
        (1): Conv2d(64, 128, kernel_size=(1, 1), stride=(2, 2), bias=False)
        (2): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      )
    )]]
    assert.truthy(s:find(mid, 1, true))
    local tail = [[
  (avgpool): AdaptiveAvgPool2d(output_size=(1, 1))
  (fc): Linear(in_features=512, out_features=1000, bias=True)
)]]
    assert.are.equal(tail, s:sub(-#tail))
    assert.truthy(m:state_dict()["layer4.1.downsample.2.running_var"])
  end)
end)
