-- Seed 002 ("BUILD THE NEURAL NETWORK"): device selection, the NeuralNetwork class, its
-- layers one by one (Flatten, Linear, ReLU, Sequential, Softmax) and named_parameters.
--   build/nnlua scripts/seed_examples/002_build_model.lua
torch.manual_seed(0)

-- device = "cuda" if cuda else "mps" if mps else "cpu": no MPS backend in nnlua
local device = torch.cuda.is_available() and "cuda" or "cpu"
print(string.format("Using %s device", device))

-- class NeuralNetwork(nn.Module)  (the seed indents forward inside __init by mistake; this is
-- the intended class)
local NeuralNetwork = nn.Module:extend("NeuralNetwork")
function NeuralNetwork:__init()
  self.flatten = nn.Flatten()
  self.linear_relu_stack = nn.Sequential(
    nn.Linear(28 * 28, 512),
    nn.ReLU(),
    nn.Linear(512, 512),
    nn.ReLU(),
    nn.Linear(512, 10)
  )
end
function NeuralNetwork:forward(x)
  x = self.flatten(x)
  local logits = self.linear_relu_stack(x)
  return logits
end

local model = NeuralNetwork():to(device)
print(model)

-- input_image = torch.rand(3,28,28)
local input_image = torch.rand(3, 28, 28)
print(input_image:size())

-- nn.Flatten: (3, 28, 28) -> (3, 784), the batch dim kept (start_dim=1 in PyTorch = 2 here)
local flatten = nn.Flatten()
local flat_image = flatten(input_image)
print(flat_image:size())

-- nn.Linear(in_features=28*28, out_features=20): keyword arguments in an options table
local layer1 = nn.Linear({ in_features = 28 * 28, out_features = 20 })
local hidden1 = layer1(flat_image)
print(hidden1:size())

-- nn.ReLU
print(string.format("Before ReLU: %s\n\n", hidden1))
hidden1 = nn.ReLU()(hidden1)
print(string.format("After ReLU: %s", hidden1))

-- nn.Sequential
local seq_modules = nn.Sequential(
  flatten,
  layer1,
  nn.ReLU(),
  nn.Linear(20, 10)
)
input_image = torch.rand(3, 28, 28)
local logits = seq_modules(input_image)

-- nn.Softmax(dim=1) -> dim 2
local softmax = nn.Softmax(2)
local pred_probab = softmax(logits)
print(pred_probab)

-- named_parameters: names use Sequential indices from 1 (linear_relu_stack.1.weight)
print(string.format("Model structure: %s\n\n", model))
for name, param in model:named_parameters() do
  -- param[:2] -> the first two rows: param[{{1, 2}}]
  print(string.format("Layer: %s | Size: %s | Values : %s \n", name, param:size(), param[{ { 1, 2 } }]))
end
