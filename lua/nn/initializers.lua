-- nn.init: in-place initialisers (PyTorch's torch.nn.init), all run under no_grad.
local torch = require "torch"
local init = {}

local function ng(fn) return torch.no_grad(fn) end

-- calculate_gain(nonlinearity, param)
function init.calculate_gain(nonlinearity, param)
  local linear = { linear = true, conv1d = true, conv2d = true, conv3d = true, conv_transpose1d = true,
    conv_transpose2d = true, conv_transpose3d = true, sigmoid = true }
  if linear[nonlinearity] then return 1 end
  if nonlinearity == "tanh" then return 5.0 / 3 end
  if nonlinearity == "relu" then return math.sqrt(2.0) end
  if nonlinearity == "leaky_relu" then
    local slope = 0.01
    if param ~= nil then
      if type(param) ~= "number" or type(param) == "boolean" then
        error("calculate_gain: negative_slope " .. tostring(param) .. " not a valid number", 2)
      end
      slope = param
    end
    return math.sqrt(2.0 / (1 + slope ^ 2))
  end
  if nonlinearity == "selu" then return 3.0 / 4 end
  error("calculate_gain: unsupported nonlinearity " .. tostring(nonlinearity), 2)
end

-- fan_in = size(2) * receptive field, fan_out = size(1) * receptive field
function init._calculate_fan_in_and_fan_out(t)
  local d = t:dim()
  if d < 2 then
    error("fan in and fan out can not be computed for tensor with fewer than 2 dimensions", 3)
  end
  local rf = 1
  for i = 3, d do rf = rf * t:size(i) end
  return t:size(2) * rf, t:size(1) * rf
end

local function fan(t, mode)
  mode = mode or "fan_in"
  local fi, fo = init._calculate_fan_in_and_fan_out(t)
  if mode == "fan_in" then return fi elseif mode == "fan_out" then return fo end
  error("Mode " .. tostring(mode) .. " not supported, please use one of fan_in, fan_out", 3)
end

local function opt(o, k, pos, def)
  if type(o) == "table" then local v = o[k]; if v == nil then return def end return v end
  if pos == nil then return def end
  return pos
end

function init.uniform_(t, a, b)
  if type(a) == "table" then a, b = a.a, a.b end
  return ng(function() return t:uniform_(a or 0.0, b or 1.0) end)
end
function init.normal_(t, mean, std)
  if type(mean) == "table" then mean, std = mean.mean, mean.std end
  return ng(function() return t:normal_(mean or 0.0, std or 1.0) end)
end
function init.constant_(t, v) return ng(function() return t:fill_(v) end) end
function init.zeros_(t) return ng(function() return t:zero_() end) end
function init.ones_(t) return ng(function() return t:fill_(1) end) end

function init.eye_(t)
  if t:dim() ~= 2 then error("eye_: only tensors with 2 dimensions are supported", 2) end
  return ng(function()
    t:zero_()
    for i = 1, math.min(t:size(1), t:size(2)) do t[{ i, i }] = 1 end
    return t
  end)
end

-- xavier_uniform_(t, gain=1): U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))
function init.xavier_uniform_(t, gain)
  gain = opt(gain, "gain", gain, 1.0)
  local fi, fo = init._calculate_fan_in_and_fan_out(t)
  local a = gain * math.sqrt(6.0 / (fi + fo))
  return ng(function() return t:uniform_(-a, a) end)
end
function init.xavier_normal_(t, gain)
  gain = opt(gain, "gain", gain, 1.0)
  local fi, fo = init._calculate_fan_in_and_fan_out(t)
  local std = gain * math.sqrt(2.0 / (fi + fo))
  return ng(function() return t:normal_(0.0, std) end)
end

-- kaiming_uniform_(t, a=0, mode="fan_in", nonlinearity="leaky_relu")
local function kaiming_args(a, mode, nl)
  if type(a) == "table" then return a.a or 0, a.mode or "fan_in", a.nonlinearity or "leaky_relu" end
  return a or 0, mode or "fan_in", nl or "leaky_relu"
end
function init.kaiming_uniform_(t, a, mode, nonlinearity)
  a, mode, nonlinearity = kaiming_args(a, mode, nonlinearity)
  if t:numel() == 0 then return t end
  local std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan(t, mode))
  local bound = math.sqrt(3.0) * std
  return ng(function() return t:uniform_(-bound, bound) end)
end
function init.kaiming_normal_(t, a, mode, nonlinearity)
  a, mode, nonlinearity = kaiming_args(a, mode, nonlinearity)
  if t:numel() == 0 then return t end
  local std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan(t, mode))
  return ng(function() return t:normal_(0.0, std) end)
end

-- orthogonal_(t, gain=1): QR (modified Gram-Schmidt in float64) of a normal matrix, signs
-- fixed by diag(R) as PyTorch does.
function init.orthogonal_(t, gain)
  gain = opt(gain, "gain", gain, 1.0)
  if t:dim() < 2 then error("orthogonal_: only tensors with 2 or more dimensions are supported", 2) end
  if t:numel() == 0 then return t end
  local rows = t:size(1)
  local cols = t:numel() // rows
  return ng(function()
    local flat = torch.randn(rows, cols, { dtype = "float64" })
    if rows < cols then flat = flat:t():contiguous() end
    local m, n = flat:size(1), flat:size(2) -- m >= n
    local a = flat:tolist()
    local q = {}
    for j = 1, n do
      local v = {}
      for i = 1, m do v[i] = a[i][j] end
      for k = 1, j - 1 do
        local dot = 0
        for i = 1, m do dot = dot + q[k][i] * v[i] end
        for i = 1, m do v[i] = v[i] - dot * q[k][i] end
      end
      local nrm = 0
      for i = 1, m do nrm = nrm + v[i] * v[i] end
      nrm = math.sqrt(nrm)
      -- r_jj = nrm > 0: the sign correction of PyTorch (q *= sign(diag r)) is a no-op here
      for i = 1, m do v[i] = v[i] / nrm end
      q[j] = v
    end
    local rowsq = {}
    for i = 1, m do
      local r = {}
      for j = 1, n do r[j] = q[j][i] end
      rowsq[i] = r
    end
    local Q = torch.tensor(rowsq, { dtype = "float64" })
    if rows < cols then Q = Q:t() end
    t:copy_((Q * gain):reshape(t.shape))
    return t
  end)
end

-- PyTorch's aliases without the trailing underscore are deprecated; not provided.
return init
