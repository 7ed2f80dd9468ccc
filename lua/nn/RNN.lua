-- nn.RNN(input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=true, batch_first=false,
-- dropout=0, bidirectional=false); see _RNNBase for shapes. RNN(x, h0) -> out, h_n.
local RNNBase = require "nn._RNNBase"
local RNN = RNNBase:extend("RNN")
function RNN:__init(...) RNNBase._setup(self, "RNN", "RNN_TANH", ...) end
return RNN
