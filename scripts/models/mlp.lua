-- Seed 002's NeuralNetwork: Flatten, then Linear(784, 512) ReLU Linear(512, 512) ReLU Linear(512, 10).
-- local M = dofile("scripts/models/mlp.lua"); local model = M.NeuralNetwork()
local M = {}
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
  return self.linear_relu_stack(x)
end
M.NeuralNetwork = NeuralNetwork
return M
