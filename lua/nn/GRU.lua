-- nn.GRU(input_size, hidden_size, num_layers=1, bias=true, batch_first=false,
-- dropout=0, bidirectional=false); see _RNNBase for shapes. GRU(x, h0) -> out, h_n.
local RNNBase = require "nn._RNNBase"
local GRU = RNNBase:extend("GRU")
function GRU:__init(...) RNNBase._setup(self, "GRU", "GRU", ...) end
return GRU
