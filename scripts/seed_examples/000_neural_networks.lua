-- Seed 000 ("신경망(NEURAL NETWORKS)"), cell by cell: the Net with two 3x3 convolutions,
-- its parameters, a forward pass, backward with a random gradient, MSELoss, the grad_fn
-- chain, zero_grad before/after backprop, the manual SGD update, optim.SGD and the "Summary"
-- net with MaxPool2d layers and Adam.
--   build/nnlua scripts/seed_examples/000_neural_networks.lua
local F = nn.functional
torch.manual_seed(0)

local device = torch.cuda.is_available() and "cuda" or "cpu"
print(device)

-- In [2]: class Net(nn.Module)
local Net = nn.Module:extend("Net")
function Net:__init()
  self.conv1 = nn.Conv2d(1, 6, { kernel_size = 3, stride = 1 }) -- kernel_size=3, stride=1
  self.conv2 = nn.Conv2d(6, 16, { kernel_size = 3, stride = 1 })
  self.fc1 = nn.Linear(576, 120, { bias = true })
  self.fc2 = nn.Linear(120, 84, { bias = true })
  self.fc3 = nn.Linear(84, 10, { bias = true })
end
function Net:forward(x)
  x = F.relu(F.max_pool2d(self.conv1(x), { kernel_size = 2 }))
  x = F.relu(F.max_pool2d(self.conv2(x), { kernel_size = 2 }))
  x = x:view(-1, 576)
  x = F.relu(self.fc1(x))
  x = F.relu(self.fc2(x))
  x = self.fc3(x)
  return x
end

local net = Net():to(device)
print(net)

-- In [3]: params = list(net.parameters()); len(params)
local params = net:parameters()
print(#params)
print(params[1].shape, params[2]) -- conv1.weight's shape, conv1.bias

-- In [4]: one sample needs a batch dim (input.unsqueeze(0)); here a batch of 1 already
local inp = torch.randn(1, 1, 32, 32):to(device)
local out = net(inp)
print(out:size())

-- In [5]: out.backward(torch.randn((1, 10)))
out:backward(torch.randn({ 1, 10 }):to(device))

-- In [6]: loss
local output = net(inp)
local target = torch.randn(10):to(device)
target = target:view(1, -1)
local criterion = nn.MSELoss()
local loss = criterion(output, target)
print(loss)

-- In [7]: walking back the graph (next_functions[0][0] -> [1][1])
print(loss.grad_fn)
print(loss.grad_fn.next_functions[1][1])
print(loss.grad_fn.next_functions[1][1].next_functions[1][1])

-- In [8]: zero_grad, then backprop
-- zero_grad() sets grads to nil (PyTorch 2.x's default); the seed (PyTorch 1.x) zeroes them:
net:zero_grad({ set_to_none = false })
print("conv1.bias.grad before backprop")
print(net.conv1.bias.grad)
loss:backward()
print("conv1.bias.grad after backprop")
print(net.conv1.bias.grad)

-- In [9]: weight = weight - learning_rate * gradient, by hand
local lr = 0.01
for _, f in ipairs(net:parameters()) do
  f.data:sub_(f.grad.data * lr) -- f.data.sub_(f.grad.data * lr)
end

-- In [10]: the same with optim
local optimizer = optim.SGD(net:parameters(), { lr = 0.01 })
optimizer:zero_grad()
output = net(inp)
loss = criterion(output, target)
loss:backward()
optimizer:step()
print("after one SGD step:", criterion(net(inp), target):item(), "<", loss:item())

-- In [12]-[16]: Summary, with MaxPool2d layers and Adam
local Net2 = nn.Module:extend("Net")
function Net2:__init()
  self.conv1 = nn.Conv2d(1, 6, { kernel_size = 3, stride = 1 })
  self.pool1 = nn.MaxPool2d({ kernel_size = 2, stride = 2 })
  self.conv2 = nn.Conv2d(6, 16, { kernel_size = 3, stride = 1 })
  self.pool2 = nn.MaxPool2d({ kernel_size = 2, stride = 2 })
  self.fc1 = nn.Linear(16 * 6 * 6, 120)
  self.fc2 = nn.Linear(120, 84)
  self.fc3 = nn.Linear(84, 10)
end
function Net2:forward(x)
  x = self.pool1(F.relu(self.conv1(x)))
  x = self.pool2(F.relu(self.conv2(x)))
  x = x:view(-1, 16 * 6 * 6)
  x = F.relu(self.fc1(x))
  x = F.relu(self.fc2(x))
  x = self.fc3(x)
  return x
end
net = Net2():to(device)
print(net)
inp = torch.randn(1, 1, 32, 32):to(device)
out = net(inp):to(device)
local tgt = torch.randn(1, 10):to(device)
criterion = nn.MSELoss()
-- optim.Adam(params=net.parameters(), lr=0.01): params is positional in nnlua
optimizer = optim.Adam(net:parameters(), { lr = 0.01 })
optimizer:zero_grad()
loss = criterion(out, tgt)
loss:backward()
optimizer:step()
print("Adam step done, loss was", loss:item())
