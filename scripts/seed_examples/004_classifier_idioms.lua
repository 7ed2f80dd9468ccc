-- Seed 004, Task 4 ("Training a Classifier"): the idioms around the training loop, on
-- Fashion-MNIST (CIFAR-10 is not installed here; scripts/train_cifar.lua is the full port):
-- transforms.Compose, DataLoader, iter/next, make_grid + an image file instead of imshow,
-- the enumerate loop with a running loss, torch.max(outputs, 1), the accuracy loop under
-- no_grad, per-class accuracy tables, and the device move.
--   build/nnlua scripts/seed_examples/004_classifier_idioms.lua [--steps N (300)] [--out grid.png]
local F = nn.functional
local steps, out_png = 300, nil
do
  local a = arg or {}
  for i = 1, #a, 2 do
    if a[i] == "--steps" then steps = math.tointeger(tonumber(a[i + 1]))
    elseif a[i] == "--out" then out_png = a[i + 1]
    else error("004_classifier_idioms.lua: unknown argument " .. tostring(a[i])) end
  end
end
torch.manual_seed(0)
local device = torch.cuda.is_available() and "cuda:0" or "cpu"
print(device)

-- transform = transforms.Compose([ToTensor(), Normalize((0.5,), (0.5,))]): one channel here
local transforms = data.transforms
local transform = transforms.Compose({ transforms.ToTensor(), transforms.Normalize({ 0.5 }, { 0.5 }) })
local batch_size = 4
local trainset = data.datasets.FashionMNIST { root = "/usr/share/datasets/fashion-mnist", train = true, transform = transform }
local trainloader = data.DataLoader(trainset, { batch_size = batch_size, shuffle = true, num_workers = 2 })
local testset = data.datasets.FashionMNIST { root = "/usr/share/datasets/fashion-mnist", train = false, transform = transform }
local testloader = data.DataLoader(testset, { batch_size = 100, shuffle = false })
-- classes = ('plane', 'car', ...): a Lua list, indexed by the 1-based labels
local classes = { "T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot" }

-- dataiter = iter(trainloader); images, labels = next(dataiter)
local dataiter = trainloader:iter()
local _, images, labels = dataiter()
-- imshow(torchvision.utils.make_grid(images)): written to a PNG file instead of a window
local grid = data.utils.make_grid(images / 2 + 0.5) -- unnormalize
if out_png then data.utils.save_image(grid, out_png); print("grid saved to " .. out_png) end
-- print(' '.join(f'{classes[labels[j]]:5s}' for j in range(batch_size)))
local names = {}
for j = 1, batch_size do names[j] = string.format("%-5s", classes[labels[j]:item()]) end
print(table.concat(names, " "))

-- a small net (the seed's CNN is scripts/models/lenet.lua's CifarNet)
local Net = nn.Module:extend("Net")
function Net:__init()
  self.conv1 = nn.Conv2d(1, 6, 5)
  self.pool = nn.MaxPool2d(2, 2)
  self.fc1 = nn.Linear(6 * 12 * 12, 10)
end
function Net:forward(x)
  x = self.pool(F.relu(self.conv1(x)))
  return self.fc1(torch.flatten(x, 2))
end
local net = Net()
net:to(device)
local criterion = nn.CrossEntropyLoss()
local optimizer = optim.SGD(net:parameters(), { lr = 0.01, momentum = 0.9 })

-- for i, data in enumerate(trainloader, 0): nnlua's loader yields the batch index from 1
local running_loss = 0.0
for i, inputs, labels_ in trainloader:iter() do
  if i > steps then break end
  inputs, labels_ = inputs:to(device), labels_:to(device)
  optimizer:zero_grad()
  local outputs = net(inputs)
  local loss = criterion(outputs, labels_)
  loss:backward()
  optimizer:step()
  running_loss = running_loss + loss:item()
  if i % 100 == 0 then -- i % 2000 == 1999 with a 0-based i
    print(string.format("[%d, %5d] loss: %.3f", 1, i, running_loss / 100))
    running_loss = 0.0
  end
end
print("Finished Training")

-- GroundTruth / Predicted for the first test images
local it = testloader:iter()
local _, timages, tlabels = it()
local gt, pr = {}, {}
local outputs = net(timages:to(device))
-- _, predicted = torch.max(outputs, 1): values and 1-based indices along dim 2
local _, predicted = torch.max(outputs, 2)
for j = 1, 4 do
  gt[j] = string.format("%-5s", classes[tlabels[j]:item()])
  pr[j] = string.format("%-5s", classes[predicted[j]:item()])
end
print("GroundTruth: ", table.concat(gt, " "))
print("Predicted: ", table.concat(pr, " "))

-- accuracy over the test set, without recording the graph
local correct, total = 0, 0
local correct_pred, total_pred = {}, {}
for _, c in ipairs(classes) do correct_pred[c], total_pred[c] = 0, 0 end
torch.no_grad(function()
  for _, timgs, tlbls in testloader:iter() do
    local outs = net(timgs:to(device))
    local _, pred = torch.max(outs.data, 2)
    pred = pred:cpu()
    total = total + tlbls:size(1)
    correct = correct + pred:eq(tlbls):sum():item() -- (predicted == labels).sum().item()
    -- for label, prediction in zip(labels, predictions)
    local lt, pt = tlbls:tolist(), pred:tolist()
    for k = 1, #lt do
      if lt[k] == pt[k] then correct_pred[classes[lt[k]]] = correct_pred[classes[lt[k]]] + 1 end
      total_pred[classes[lt[k]]] = total_pred[classes[lt[k]]] + 1
    end
  end
end)
print(string.format("Accuracy of the network on the %d test images: %d %%", total, 100 * correct // total))
for _, classname in ipairs(classes) do -- for classname, correct_count in correct_pred.items()
  local accuracy = 100 * correct_pred[classname] / total_pred[classname]
  print(string.format("Accuracy for class: %-7s is %.1f %%", classname, accuracy))
end
