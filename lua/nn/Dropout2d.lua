-- nn.Dropout2d(p=0.5, inplace=false): zeroes whole channels of (N, C, H, W) in training.
local U = require "nn._util"
local Dropout = require "nn.Dropout"
local Dropout2d = Dropout:extend("Dropout2d")
function Dropout2d:forward(x) return U.F().dropout2d(x, self.p, self.training) end
return Dropout2d
