-- Seed 004, Task 2-1: autograd on resnet18: a forward pass on a random 64x64 image, the loss
-- (prediction - labels).sum(), backward, and one SGD step with momentum.
--   build/nnlua scripts/seed_examples/004_autograd_usage.lua
-- pretrained=True downloads ImageNet weights: not possible offline, so random initialisation
-- (scripts/finetune_resnet18.lua --weights FILE shows loading a state_dict).
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local resnet = dofile(here .. "/../models/resnet.lua")
torch.manual_seed(0)

-- model = torchvision.models.resnet18(pretrained=True)
local model = resnet.resnet18()
local data_ = torch.rand(1, 3, 64, 64) -- one 3-channel 64x64 image
local labels = torch.rand(1, 1000)

local prediction = model(data_)        -- forward pass
print(prediction.shape)
local loss = (prediction - labels):sum()
loss:backward()                        -- backward pass: .grad on every parameter
print("loss:", loss:item())
print("conv1.weight.grad:", model.conv1.weight.grad.shape)

-- optim = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
local optim_ = optim.SGD(model:parameters(), { lr = 1e-2, momentum = 0.9 })
local before = model.fc.bias:clone()
optim_:step()                          -- gradient descent
print("fc.bias moved by lr * grad:", torch.allclose(model.fc.bias, before - 1e-2 * model.fc.bias.grad, { atol = 1e-6 }))
