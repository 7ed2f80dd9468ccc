-- Seed 004, Task 2-3 ("DAG에서 제외하기"): fine-tuning resnet18. Freeze every parameter
-- (requires_grad = false), replace the classifier with a new nn.Linear(512, 10) (its
-- parameters require grad), optimise it with SGD(lr=1e-2, momentum=0.9), here on data that
-- is available offline: Fashion-MNIST images padded 28 -> 32 and repeated to 3 channels.
--
--   build/nnlua scripts/finetune_resnet18.lua [--steps N (200)] [--batch N (32)]
--       [--weights FILE] [--eval N (1000)] [--data DIR]
--
-- Pretrained weights: torchvision.models.resnet18(pretrained=True) downloads ImageNet weights;
-- nnlua has no network access, so the backbone starts from torchvision's random
-- initialisation unless --weights FILE names a checkpoint (a state_dict saved with
-- torch.save, e.g. converted from torchvision's resnet18 to safetensors: keys are the same,
-- with Sequential children numbered from 1: "layer1.1.conv1.weight" for "layer1.0.conv1.weight").
-- From a random frozen backbone the head still learns (random features are informative), but
-- expect far lower accuracy than with ImageNet features.

local opt = { steps = 200, batch = 32, weights = nil, eval = 1000, data = "/usr/share/datasets/fashion-mnist" }
do
  local argv, i = arg or {}, 1
  while argv[i] do
    local a, v = argv[i], argv[i + 1]
    if a == "--steps" then opt.steps = math.tointeger(tonumber(v))
    elseif a == "--batch" then opt.batch = math.tointeger(tonumber(v))
    elseif a == "--eval" then opt.eval = math.tointeger(tonumber(v))
    elseif a == "--weights" then opt.weights = v
    elseif a == "--data" then opt.data = v
    elseif a == "-h" or a == "--help" then
      print("usage: nnlua scripts/finetune_resnet18.lua [--steps N] [--batch N] [--weights FILE] [--eval N] [--data DIR]")
      os.exit(0)
    else error("finetune_resnet18.lua: unknown argument " .. tostring(a)) end
    i = i + 2
  end
  assert(opt.steps and opt.steps >= 0, "--steps must be a non-negative integer")
  assert(opt.batch and opt.batch >= 1, "--batch must be a positive integer")
  assert(opt.eval and opt.eval >= 1, "--eval must be a positive integer")
end

local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local resnet = dofile(here .. "/models/resnet.lua")
local F = nn.functional

torch.manual_seed(0)
local device = torch.cuda.is_available() and "cuda" or "cpu"

-- model = torchvision.models.resnet18(pretrained=True)
local model = resnet.resnet18()
if opt.weights then
  -- model.load_state_dict(torch.load(FILE)): a full resnet18 state_dict (1000-class fc or not)
  local sd = torch.load(opt.weights, { map_location = "cpu" })
  local missing, unexpected = model:load_state_dict(sd, { strict = false })
  print(string.format("loaded %s (%d missing keys, %d unexpected keys)", opt.weights, #missing, #unexpected))
else
  print("pretrained weights: not available offline (no download in nnlua); starting from random "
    .. "initialisation (use --weights FILE for a resnet18 state_dict)")
end

-- for param in model.parameters(): param.requires_grad = False
for _, param in ipairs(model:parameters()) do
  param.requires_grad = false
end

-- model.fc = nn.Linear(512, 10): a new module, its parameters require grad
model.fc = nn.Linear(512, 10)
model:to(device)

local n_trainable, n_frozen = 0, 0
for name, p in model:named_parameters() do
  if p.requires_grad then n_trainable = n_trainable + p:numel() else n_frozen = n_frozen + p:numel() end
  if p.requires_grad then print("trainable: " .. name .. " " .. tostring(p.shape)) end
end
print(string.format("parameters: %d trainable, %d frozen", n_trainable, n_frozen))

-- optimizer = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9): the frozen parameters
-- never get a .grad, so passing them all would change nothing; only fc's are passed here.
local optimizer = optim.SGD(model.fc:parameters(), { lr = 1e-2, momentum = 0.9 })
local criterion = nn.CrossEntropyLoss()

-- Data: uint8 (N, 28, 28) -> float (N, 3, 32, 32) in [0, 1], normalised as ImageNet models expect.
local train = data.datasets.FashionMNIST { root = opt.data, train = true }
local test = data.datasets.FashionMNIST { root = opt.data, train = false }
local mean = torch.tensor({ 0.485, 0.456, 0.406 }):view(1, 3, 1, 1)
local std = torch.tensor({ 0.229, 0.224, 0.225 }):view(1, 3, 1, 1)
local function to_rgb32(images)                      -- (B, 28, 28) uint8
  local x = images:float():div(255):unsqueeze(2)      -- (B, 1, 28, 28)
  x = F.pad(x, { 2, 2, 2, 2 })                        -- (B, 1, 32, 32)
  x = x:expand(-1, 3, -1, -1)                         -- (B, 3, 32, 32): the gray channel thrice
  return ((x - mean) / std):to(device)
end

local loader = data.DataLoader(train, { batch_size = opt.batch, shuffle = true, seed = 1 })
model:train() -- BatchNorm keeps updating its running statistics, as in the seed
local step, running = 0, 0
while step < opt.steps do
  for _, images, labels in loader:iter() do
    if step >= opt.steps then break end
    step = step + 1
    local inputs = to_rgb32(images)
    labels = labels:to(device)
    optimizer:zero_grad()
    local outputs = model(inputs)
    local loss = criterion(outputs, labels)
    loss:backward()
    optimizer:step()
    running = running + loss:item()
    if step % 50 == 0 or step == opt.steps then
      local k = (step % 50 == 0) and 50 or step % 50
      print(string.format("[step %4d] loss: %.3f", step, running / k))
      running = 0
    end
  end
end

-- the frozen backbone did not move: no .grad anywhere but in fc
local grads = 0
for name, p in model:named_parameters() do
  if p.grad and not name:match("^fc%.") then grads = grads + 1 end
end
print("frozen parameters with a gradient: " .. grads)

-- accuracy on a held-out slice: the first --eval test images
model:eval()
local n_eval = math.min(opt.eval, #test)
local correct = 0
torch.no_grad(function()
  for s = 1, n_eval, 250 do
    local e = math.min(s + 249, n_eval)
    local outputs = model(to_rgb32(test.data[{ { s, e } }]))
    local predicted = outputs:argmax(2):cpu()
    correct = correct + predicted:eq(test.targets[{ { s, e } }]):sum():item()
  end
end)
print(string.format("Accuracy of the fine-tuned head on %d held-out test images: %.1f %%", n_eval,
  100 * correct / n_eval))
