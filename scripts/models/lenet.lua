-- LeNet-style nets of the seeds: Net (seed 000: 1x32x32 input, conv 3x3), FashionNet (seed
-- 000's net adapted to 28x28 Fashion-MNIST: the main job's model, also used by its PyTorch
-- parity check) and CifarNet (seed 004: 3x32x32 input, conv 5x5, as in the PyTorch CIFAR-10
-- tutorial).
-- local M = dofile("scripts/models/lenet.lua"); local net = M.Net()
local M = {}
local F = function() return nn.functional end

local Net = nn.Module:extend("Net")
function Net:__init()
  self.conv1 = nn.Conv2d(1, 6, { kernel_size = 3, stride = 1 })
  self.conv2 = nn.Conv2d(6, 16, { kernel_size = 3, stride = 1 })
  self.fc1 = nn.Linear(576, 120, { bias = true })
  self.fc2 = nn.Linear(120, 84, { bias = true })
  self.fc3 = nn.Linear(84, 10, { bias = true })
end
function Net:forward(x)
  x = F().max_pool2d(F().relu(self.conv1(x)), { 2, 2 })
  x = F().max_pool2d(F().relu(self.conv2(x)), 2)
  x = torch.flatten(x, 2)
  x = F().relu(self.fc1(x))
  x = F().relu(self.fc2(x))
  return self.fc3(x)
end
M.Net = Net

-- Prints as "Net", like the seed's class.
local FashionNet = nn.Module:extend("Net")
function FashionNet:__init()
  self.conv1 = nn.Conv2d(1, 6, 3)
  self.conv2 = nn.Conv2d(6, 16, 3)
  self.fc1 = nn.Linear(16 * 5 * 5, 120) -- 28 -conv3-> 26 -pool-> 13 -conv3-> 11 -pool-> 5
  self.fc2 = nn.Linear(120, 84)
  self.fc3 = nn.Linear(84, 10)
end
function FashionNet:forward(x)
  x = F().max_pool2d(F().relu(self.conv1(x)), 2)
  x = F().max_pool2d(F().relu(self.conv2(x)), 2)
  x = torch.flatten(x, 2)
  x = F().relu(self.fc1(x))
  x = F().relu(self.fc2(x))
  return self.fc3(x)
end
M.FashionNet = FashionNet

local CifarNet = nn.Module:extend("Net")
function CifarNet:__init()
  self.conv1 = nn.Conv2d(3, 6, 5)
  self.pool = nn.MaxPool2d(2, 2)
  self.conv2 = nn.Conv2d(6, 16, 5)
  self.fc1 = nn.Linear(16 * 5 * 5, 120)
  self.fc2 = nn.Linear(120, 84)
  self.fc3 = nn.Linear(84, 10)
end
function CifarNet:forward(x)
  x = self.pool(F().relu(self.conv1(x)))
  x = self.pool(F().relu(self.conv2(x)))
  x = torch.flatten(x, 2)
  x = F().relu(self.fc1(x))
  x = F().relu(self.fc2(x))
  return self.fc3(x)
end
M.CifarNet = CifarNet

return M
