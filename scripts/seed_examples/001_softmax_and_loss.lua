-- Seed 001 ("Training a Neural Network"): the Softmax layer, log_softmax, the XOR module's
-- first CrossEntropyLoss, and one optimizer step seen on the first layer's weights.
-- (The XOR training itself is scripts/xor.lua; the autograd part scripts/tour_autograd.lua.)
--   build/nnlua scripts/seed_examples/001_softmax_and_loss.lua

-- numpy().round(3) -> a small formatter over tolist()
local function round3(t)
  local function fmt(v)
    if type(v) == "table" then
      local parts = {}
      for i, x in ipairs(v) do parts[i] = fmt(x) end
      return "[" .. table.concat(parts, " ") .. "]"
    end
    return string.format("%.3f", v)
  end
  return fmt(t:tolist())
end

-- x = torch.FloatTensor([3, 1, 5, 9]); prob = torch.softmax(x, dim=0)
local x = torch.tensor({ 3, 1, 5, 9 }, { dtype = torch.float32 })
local prob = torch.softmax(x, 1) -- dim=0 -> 1
print(round3(prob))

-- softmax_layer = nn.Softmax(dim=1)
local softmax_layer = nn.Softmax(2)
x = torch.tensor({ { 3, 1, 5, 9 },
                   { 4, 6, 5, 3 } }, { dtype = torch.float32 })
print(x:size())
prob = softmax_layer(x)
print(round3(prob) .. "\n")
print(string.format("dim=1 으로 합을 하면 1이 된다: %s", prob:sum(2)))

-- torch.log_softmax(x, dim=1)
print(torch.log_softmax(x, 2))

-- the XOR module
torch.manual_seed(70)
local XOR = nn.Module:extend("XOR")
function XOR:__init()
  self.layers = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 2), nn.Sigmoid(), nn.Linear(2, 2))
end
function XOR:forward(x_) return self.layers(x_) end

-- x = torch.Tensor([[0, 1]]); t = torch.LongTensor([0])  (class 0 -> 1 here)
local xi = torch.tensor({ { 0, 1 } }, { dtype = torch.float32 })
local t = torch.tensor({ 1 }, { dtype = torch.int64 })
local model = XOR()
local loss_function = nn.CrossEntropyLoss()
local y = model(xi)
local loss = loss_function(y, t)
print(string.format("loss value: %s", loss:item()))

-- torch.optim: one step
local optimizer = optim.SGD(model:parameters(), { lr = 0.1 })
loss:backward()
-- list(model.parameters())
for i, p in ipairs(model:parameters()) do print(i, p) end
print("첫번째 Linear Layer Weight: ")
print(model.layers[1].weight) -- model.layers[0]: Sequential children from 1
print()
print("첫번째 Linear Layer Weight의 Gradient: ")
print(model.layers[1].weight.grad)
print()
local before = model.layers[1].weight:clone()
optimizer:step()
print("첫번째 Linear Layer Weight (after step): ")
print(model.layers[1].weight)
-- W_new = W_old - lr * dL/dW
print("W_new == W_old - 0.1 * grad:",
  torch.allclose(model.layers[1].weight, before - 0.1 * model.layers[1].weight.grad))
