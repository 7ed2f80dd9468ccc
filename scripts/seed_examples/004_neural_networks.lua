-- Seed 004, Task 3 ("Neural Networks"): the Net with 5x5 convolutions, its parameters, a
-- forward pass, MSELoss, the grad_fn walk, zero_grad/backward and an SGD update.
--   build/nnlua scripts/seed_examples/004_neural_networks.lua
local F = nn.functional
torch.manual_seed(0)

local Net = nn.Module:extend("Net")
function Net:__init()
  self.conv1 = nn.Conv2d(1, 6, 5)
  self.conv2 = nn.Conv2d(6, 16, 5)
  self.fc1 = nn.Linear(16 * 5 * 5, 120)
  self.fc2 = nn.Linear(120, 84)
  self.fc3 = nn.Linear(84, 10)
end
function Net:forward(x)
  x = F.max_pool2d(F.relu(self.conv1(x)), { 2, 2 }) -- (2, 2) -> {2, 2}
  x = F.max_pool2d(F.relu(self.conv2(x)), 2)
  x = torch.flatten(x, 2)                          -- torch.flatten(x, 1): dims from 1 -> 2
  x = F.relu(self.fc1(x))
  x = F.relu(self.fc2(x))
  x = self.fc3(x)
  return x
end

local net = Net()
print(net)

local params = net:parameters()
print(#params)
print(params[1]:size()) -- params[0].size()

local input = torch.randn(1, 1, 32, 32)
local out = net(input)
print(out)

net:zero_grad()
out:backward(torch.randn(1, 10))

-- 3-2 loss
local output = net(input)
local target = torch.randn(10)
target = target:view(1, -1)
local criterion = nn.MSELoss()
local loss = criterion(output, target)
print(loss)
print(loss.grad_fn)
print(loss.grad_fn.next_functions[1][1])
print(loss.grad_fn.next_functions[1][1].next_functions[1][1])

-- 3-3 backprop
net:zero_grad({ set_to_none = false }) -- PyTorch 1.x zero-fills; nnlua's default sets nil
print("conv1.bias.grad before backward")
print(net.conv1.bias.grad)
loss:backward()
print("conv1.bias.grad after backward")
print(net.conv1.bias.grad)

-- 3-4 weight update
local optimizer = optim.SGD(net:parameters(), { lr = 0.01 })
optimizer:zero_grad()
output = net(input)
loss = criterion(output, target)
loss:backward()
optimizer:step()
print("loss after one step:", criterion(net(input), target):item())
