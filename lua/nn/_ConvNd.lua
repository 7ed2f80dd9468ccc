-- The common base of Conv1d, Conv2d and ConvTranspose2d (PyTorch's _ConvNd): arguments,
-- parameters, initialisation and extra_repr. Subclasses set N, transposed and forward.
local torch = require "torch"
local nn = require "nn"
local U = require "nn._util"

local ConvNd = nn.Module:extend("_ConvNd")

local MODES = { zeros = true, reflect = true, replicate = true, circular = true }

-- conv_init(self, name, n, transposed, ...)
function ConvNd._setup(self, name, n, transposed, ...)
  local names = transposed
    and { "in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding", "groups", "bias",
      "dilation", "padding_mode", "device", "dtype" }
    or { "in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias",
      "padding_mode", "device", "dtype" }
  local a = U.args(name, names, { stride = 1, padding = 0, output_padding = 0, dilation = 1, groups = 1, bias = true,
    padding_mode = "zeros" }, ...)
  for _, k in ipairs({ "in_channels", "out_channels", "groups" }) do
    if math.type(a[k]) ~= "integer" or a[k] <= 0 then
      error(string.format("%s: %s must be a positive integer, got %s", name, k, tostring(a[k])), 3)
    end
  end
  if a.in_channels % a.groups ~= 0 then error(name .. ": in_channels must be divisible by groups", 3) end
  if a.out_channels % a.groups ~= 0 then error(name .. ": out_channels must be divisible by groups", 3) end
  if not MODES[a.padding_mode] then
    error(string.format("%s: padding_mode must be one of zeros, reflect, replicate, circular, got '%s'", name,
      tostring(a.padding_mode)), 3)
  end
  self.in_channels, self.out_channels, self.groups = a.in_channels, a.out_channels, a.groups
  self.kernel_size = U.tuple(a.kernel_size, n, name .. ": kernel_size")
  self.stride = U.tuple(a.stride, n, name .. ": stride")
  self.dilation = U.tuple(a.dilation, n, name .. ": dilation")
  self.output_padding = U.tuple(a.output_padding, n, name .. ": output_padding")
  if type(a.padding) == "string" then
    if a.padding ~= "same" and a.padding ~= "valid" then
      error(name .. ": invalid padding string '" .. a.padding .. "', should be one of 'valid', 'same'", 3)
    end
    if a.padding == "same" and not U.all_eq(self.stride, 1) then
      error(name .. ": padding='same' is not supported for strided convolutions", 3)
    end
    self.padding = a.padding
  else
    self.padding = U.tuple(a.padding, n, name .. ": padding")
  end
  self.padding_mode = a.padding_mode
  self.transposed = transposed
  local shape
  if transposed then
    shape = { a.in_channels, a.out_channels // a.groups }
  else
    shape = { a.out_channels, a.in_channels // a.groups }
  end
  for i = 1, n do shape[#shape + 1] = self.kernel_size[i] end
  local o = U.opts(a)
  self.weight = nn.Parameter(torch.empty(shape, o))
  if a.bias then self.bias = nn.Parameter(torch.empty({ a.out_channels }, o)) end
  self:reset_parameters()
end

function ConvNd:reset_parameters()
  nn.init.kaiming_uniform_(self.weight, math.sqrt(5))
  if self.bias then
    local fan_in = nn.init._calculate_fan_in_and_fan_out(self.weight)
    if fan_in ~= 0 then
      local bound = 1 / math.sqrt(fan_in)
      nn.init.uniform_(self.bias, -bound, bound)
    end
  end
end

-- explicit padding for padding_mode ~= "zeros": F.pad takes (last dim first) lo, hi pairs
function ConvNd:_pad_input(x)
  local pads = {}
  local n = #self.kernel_size
  for i = n, 1, -1 do
    local p
    if self.padding == "same" then
      local total = self.dilation[i] * (self.kernel_size[i] - 1)
      pads[#pads + 1] = total // 2
      pads[#pads + 1] = total - total // 2
    else
      p = self.padding == "valid" and 0 or self.padding[i]
      pads[#pads + 1] = p
      pads[#pads + 1] = p
    end
  end
  return U.F().pad(x, pads, self.padding_mode)
end

function ConvNd:extra_repr()
  local n = #self.kernel_size
  local s = string.format("%d, %d, kernel_size=%s, stride=%s", self.in_channels, self.out_channels,
    U.py(self.kernel_size), U.py(self.stride))
  if type(self.padding) == "string" then
    s = s .. ", padding=" .. self.padding
  elseif not U.all_eq(self.padding, 0) then
    s = s .. ", padding=" .. U.py(self.padding)
  end
  if not U.all_eq(self.dilation, 1) then s = s .. ", dilation=" .. U.py(self.dilation) end
  if not U.all_eq(self.output_padding, 0) then s = s .. ", output_padding=" .. U.py(self.output_padding) end
  if self.groups ~= 1 then s = s .. ", groups=" .. self.groups end
  if self.bias == nil then s = s .. ", bias=False" end
  if self.padding_mode ~= "zeros" then s = s .. ", padding_mode=" .. self.padding_mode end
  local _ = n
  return s
end

function ConvNd:_check_input(x, dims)
  if not torch.is_tensor(x) then self:_error("expected a tensor input, got " .. type(x), 2) end
  local d = x:dim()
  if d ~= dims and d ~= dims - 1 then
    self:_error(string.format("expected %dD (unbatched) or %dD (batched) input, got input of shape %s", dims - 1,
      dims, U.shape_str(x)), 2)
  end
  local c = x:size(d - (dims - 2))
  local want = self.transposed and self.in_channels or self.in_channels
  if c ~= want then
    self:_error(string.format("input has %d channels, expected %d (input shape %s)", c, want, U.shape_str(x)), 2)
  end
end

local K = torch._nn
function ConvNd:_conv(fname, x)
  if fname == "conv2d" and self.padding_mode == "zeros" and x:dim() == 4 then -- batched: the kernel directly
    local p = self._parameters.map
    return K[fname](x, p.weight, p.bias, self.stride, self.padding, self.dilation, self.groups)
  end
  local F = U.F()
  local padding = self.padding
  if self.padding_mode ~= "zeros" then
    x = self:_pad_input(x)
    padding = 0
  end
  return F[fname](x, self.weight, self.bias, { stride = self.stride, padding = padding, dilation = self.dilation,
    groups = self.groups })
end

return ConvNd
