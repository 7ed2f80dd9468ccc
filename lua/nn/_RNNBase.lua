-- The base of RNN, LSTM and GRU (PyTorch's RNNBase): parameters weight_ih_l{k}[_reverse],
-- weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, all U(-1/sqrt(hidden), 1/sqrt(hidden));
-- the recurrences are written with differentiable tensor ops (matmul, sigmoid, tanh, stack).
-- Input (L, N, H_in), (N, L, H_in) with batch_first, or unbatched (L, H_in).
local torch = require "torch"
local nn = require "nn"
local U = require "nn._util"

local RNNBase = nn.Module:extend("_RNNBase")

local GATES = { RNN_TANH = 1, RNN_RELU = 1, LSTM = 4, GRU = 3 }

function RNNBase._setup(self, name, mode, ...)
  local names = { "input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional",
    "device", "dtype" }
  if name == "RNN" then table.insert(names, 4, "nonlinearity") end
  local a = U.args(name, names, { num_layers = 1, nonlinearity = "tanh", bias = true, batch_first = false,
    dropout = 0.0, bidirectional = false }, ...)
  if math.type(a.input_size) ~= "integer" or math.type(a.hidden_size) ~= "integer" or a.hidden_size <= 0 then
    error(name .. ": input_size and hidden_size must be positive integers", 3)
  end
  if math.type(a.num_layers) ~= "integer" or a.num_layers < 1 then
    error(name .. ": num_layers must be a positive integer", 3)
  end
  if type(a.dropout) ~= "number" or a.dropout < 0 or a.dropout > 1 then
    error(name .. ": dropout should be a number in range [0, 1] representing the probability of an element being zeroed", 3)
  end
  if name == "RNN" then
    if a.nonlinearity == "tanh" then mode = "RNN_TANH" elseif a.nonlinearity == "relu" then mode = "RNN_RELU"
    else error("RNN: Unknown nonlinearity '" .. tostring(a.nonlinearity) .. "'. Select from 'tanh' or 'relu'.", 3) end
    self.nonlinearity = a.nonlinearity
  end
  self.mode = mode
  self.input_size, self.hidden_size, self.num_layers = a.input_size, a.hidden_size, a.num_layers
  self.bias, self.batch_first, self.dropout, self.bidirectional = a.bias, a.batch_first, a.dropout, a.bidirectional
  local gate = GATES[mode] * a.hidden_size
  local dirs = a.bidirectional and 2 or 1
  local o = U.opts(a)
  -- checked before allocating: a huge num_layers would loop (and allocate) without end
  local per_layer = gate * (math.max(a.input_size, a.hidden_size * dirs) + a.hidden_size + 2.0)
  if a.num_layers > 65536 or a.num_layers * dirs * per_layer > 2.0 ^ 40 then
    error(string.format("%s: num_layers=%d with input_size=%d, hidden_size=%d is too large", name,
                        a.num_layers, a.input_size, a.hidden_size), 3)
  end
  for layer = 0, a.num_layers - 1 do
    for dir = 0, dirs - 1 do
      local in_size = layer == 0 and a.input_size or a.hidden_size * dirs
      local sfx = "_l" .. layer .. (dir == 1 and "_reverse" or "")
      self:register_parameter("weight_ih" .. sfx, nn.Parameter(torch.empty({ gate, in_size }, o)))
      self:register_parameter("weight_hh" .. sfx, nn.Parameter(torch.empty({ gate, a.hidden_size }, o)))
      if a.bias then
        self:register_parameter("bias_ih" .. sfx, nn.Parameter(torch.empty({ gate }, o)))
        self:register_parameter("bias_hh" .. sfx, nn.Parameter(torch.empty({ gate }, o)))
      end
    end
  end
  self:reset_parameters()
end

function RNNBase:reset_parameters()
  local stdv = self.hidden_size > 0 and 1.0 / math.sqrt(self.hidden_size) or 0
  for _, p in ipairs(self:parameters()) do nn.init.uniform_(p, -stdv, stdv) end
end

-- one step: x_proj (N, G) = x W_ih^T + b_ih precomputed; h (N, H); c (N, H) for LSTM
function RNNBase:_cell(x_proj, h, c, w_hh, b_hh)
  local hp = h:matmul(w_hh:t())
  if b_hh then hp = hp + b_hh end
  local mode = self.mode
  if mode == "RNN_TANH" then return (x_proj + hp):tanh()
  elseif mode == "RNN_RELU" then return (x_proj + hp):relu()
  elseif mode == "LSTM" then
    local g = (x_proj + hp):chunk(4, 2)
    local i, f, gg, o = g[1]:sigmoid(), g[2]:sigmoid(), g[3]:tanh(), g[4]:sigmoid()
    local c2 = f * c + i * gg
    return o * c2:tanh(), c2
  else -- GRU
    local gi, gh = x_proj:chunk(3, 2), hp:chunk(3, 2)
    local r = (gi[1] + gh[1]):sigmoid()
    local z = (gi[2] + gh[2]):sigmoid()
    local n = (gi[3] + r * gh[3]):tanh()
    return (n - z * n) + z * h -- (1 - z) * n + z * h
  end
end

local function shape_list(t)
  local s = {}
  for i = 1, t:dim() do s[i] = t:size(i) end
  return "[" .. table.concat(s, ", ") .. "]"
end

-- forward(input, hx): hx is h0 (D*num_layers, N, H), or {h0, c0} for LSTM; returns
-- output, h_n (or output, {h_n, c_n} for LSTM).
function RNNBase:forward(input, hx)
  local name = self:_get_name()
  if not torch.is_tensor(input) then self:_error("expected a tensor input, got " .. type(input)) end
  local batched = input:dim() == 3
  if input:dim() ~= 2 and input:dim() ~= 3 then
    self:_error(string.format("expected input to be 2D or 3D, got %dD tensor of shape %s", input:dim(), shape_list(input)))
  end
  if input:size(-1) ~= self.input_size then
    self:_error(string.format("input.size(-1) must be equal to input_size. Expected %d, got %d", self.input_size,
      input:size(-1)))
  end
  local x = input
  if not batched then x = x:unsqueeze(2) elseif self.batch_first then x = x:transpose(1, 2) end
  -- x: (L, N, H_in)
  local L, N, H = x:size(1), x:size(2), self.hidden_size
  local dirs = self.bidirectional and 2 or 1
  local lstm = self.mode == "LSTM"
  local h0, c0
  if hx ~= nil then
    if lstm then
      if type(hx) ~= "table" or torch.is_tensor(hx) then self:_error("expected hx to be a pair {h0, c0}") end
      h0, c0 = hx[1], hx[2]
    else
      h0 = hx
    end
    if not batched then
      h0 = h0:unsqueeze(2)
      if c0 then c0 = c0:unsqueeze(2) end
    end
    local want = string.format("[%d, %d, %d]", self.num_layers * dirs, N, H)
    if shape_list(h0) ~= want then
      self:_error(string.format("Expected hidden size %s, got %s", want, shape_list(h0)))
    end
    if c0 and shape_list(c0) ~= want then
      self:_error(string.format("Expected hidden[1] size %s, got %s", want, shape_list(c0)))
    end
  else
    h0 = torch.zeros({ self.num_layers * dirs, N, H }, { dtype = x.dtype, device = x.device })
    if lstm then c0 = torch.zeros({ self.num_layers * dirs, N, H }, { dtype = x.dtype, device = x.device }) end
  end
  local hn, cn = {}, {}
  local layer_in = x
  for layer = 0, self.num_layers - 1 do
    local outs = {}
    for dir = 0, dirs - 1 do
      local sfx = "_l" .. layer .. (dir == 1 and "_reverse" or "")
      local w_ih, w_hh = self["weight_ih" .. sfx], self["weight_hh" .. sfx]
      local b_ih, b_hh = self["bias_ih" .. sfx], self["bias_hh" .. sfx]
      local proj = layer_in:matmul(w_ih:t()) -- (L, N, G)
      if b_ih then proj = proj + b_ih end
      local idx = layer * dirs + dir + 1
      local h, c = h0[idx], c0 and c0[idx] or nil
      local steps = {}
      local first, last, step = 1, L, 1
      if dir == 1 then first, last, step = L, 1, -1 end
      for t = first, last, step do
        h, c = self:_cell(proj[t], h, c, w_hh, b_hh)
        steps[t] = h
      end
      outs[#outs + 1] = L > 0 and torch.stack(steps, 1) or torch.zeros({ 0, N, H }, { dtype = x.dtype })
      hn[#hn + 1] = h
      if lstm then cn[#cn + 1] = c end
    end
    layer_in = dirs == 2 and torch.cat(outs, 3) or outs[1]
    if self.dropout > 0 and self.training and layer < self.num_layers - 1 then
      layer_in = U.F().dropout(layer_in, self.dropout, true)
    end
  end
  local out = layer_in
  local h_n, c_n = torch.stack(hn, 1), lstm and torch.stack(cn, 1) or nil
  if not batched then
    out = out:squeeze(2)
    h_n = h_n:squeeze(2)
    if c_n then c_n = c_n:squeeze(2) end
  elseif self.batch_first then
    out = out:transpose(1, 2)
  end
  local _ = name
  if lstm then return out, { h_n, c_n } end
  return out, h_n
end

function RNNBase:extra_repr()
  local s = string.format("%d, %d", self.input_size, self.hidden_size)
  if self.num_layers ~= 1 then s = s .. ", num_layers=" .. self.num_layers end
  if self.nonlinearity and self.nonlinearity ~= "tanh" then s = s .. ", nonlinearity=" .. self.nonlinearity end
  if not self.bias then s = s .. ", bias=False" end
  if self.batch_first then s = s .. ", batch_first=True" end
  if self.dropout ~= 0 then s = s .. ", dropout=" .. U.py(self.dropout) end
  if self.bidirectional then s = s .. ", bidirectional=True" end
  return s
end

return RNNBase
