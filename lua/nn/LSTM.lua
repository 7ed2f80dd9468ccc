-- nn.LSTM(input_size, hidden_size, num_layers=1, bias=true, batch_first=false,
-- dropout=0, bidirectional=false); see _RNNBase for shapes. lstm(x, {h0, c0}) -> out, {h_n, c_n}.
local RNNBase = require "nn._RNNBase"
local LSTM = RNNBase:extend("LSTM")
function LSTM:__init(...) RNNBase._setup(self, "LSTM", "LSTM", ...) end
return LSTM
