-- data.transforms: Compose ToTensor Normalize RandomCrop RandomHorizontalFlip Lambda.
--
-- nnlua's datasets give uint8 tensors, (H, W) for MNIST-style data and (C, H, W) for CIFAR
-- (PyTorch gives PIL images). ToTensor takes uint8 (H, W) -> float32 (1, H, W) and uint8
-- (C, H, W) -> float32 (C, H, W), both scaled to [0, 1]; other dtypes pass unchanged (a 2-D
-- input gains the channel dim), like PyTorch's ToTensor on non-uint8 arrays. Called on one
-- sample, each transform uses torch ops and the global generator. The DataLoader recognises
-- built-in transforms (alone or in a Compose) on built-in datasets and applies them in C on
-- whole batches (tensor/data_batch.c), drawing from its own generator instead.
local class = require "torch.class"

local T = {}

local Transform = class("Transform")
T.Transform = Transform
-- The batched form for the DataLoader's C path (a list of specs) or nil when there is none.
function Transform:_batched() return nil end

local function is_list_of_numbers(v)
  if type(v) ~= "table" or #v == 0 then return false end
  for _, x in ipairs(v) do if type(x) ~= "number" then return false end end
  return true
end

-- Compose({t1, t2, ...})
local Compose = Transform:extend("Compose")
T.Compose = Compose
function Compose:__init(list)
  if type(list) ~= "table" then error("Compose: expected a list of transforms", 3) end
  for i, f in ipairs(list) do
    local mt = getmetatable(f)
    if type(f) ~= "function" and not (mt and mt.__call) then
      error(string.format("Compose: item %d is a %s, not a transform", i, type(f)), 3)
    end
  end
  self.transforms = list
end
function Compose:__call(x)
  for _, f in ipairs(self.transforms) do x = f(x) end
  return x
end
function Compose:_batched()
  local out = {}
  for _, f in ipairs(self.transforms) do
    local b = type(f) == "table" and f._batched and f:_batched()
    if not b then return nil end
    for _, s in ipairs(b) do out[#out + 1] = s end
  end
  return out
end
function Compose:__tostring()
  local parts = {}
  for _, f in ipairs(self.transforms) do parts[#parts + 1] = "    " .. tostring(f) end
  return "Compose(\n" .. table.concat(parts, "\n") .. "\n)"
end

-- ToTensor()
local ToTensor = Transform:extend("ToTensor")
T.ToTensor = ToTensor
function ToTensor:__call(x)
  if not torch.is_tensor(x) then error("ToTensor: expected a tensor, got " .. type(x), 2) end
  if x:dim() ~= 2 and x:dim() ~= 3 then
    error(string.format("ToTensor: expected an image (H, W) or (C, H, W), got %d dims", x:dim()), 2)
  end
  if x:dim() == 2 then x = x:unsqueeze(1) end
  if x.dtype == "uint8" then return x:float():div(255) end
  return x
end
function ToTensor:_batched() return { { kind = "totensor" } } end
function ToTensor:__tostring() return "ToTensor()" end

-- Normalize(mean, std): (x - mean[c]) / std[c] per channel, in x's dtype.
local Normalize = Transform:extend("Normalize")
T.Normalize = Normalize
function Normalize:__init(mean, std)
  if type(mean) == "number" then mean = { mean } end
  if type(std) == "number" then std = { std } end
  if not is_list_of_numbers(mean) or not is_list_of_numbers(std) then
    error("Normalize: mean and std must be numbers or lists of numbers", 3)
  end
  for _, s in ipairs(std) do
    if s == 0 then error("Normalize: std evaluated to zero after conversion, leading to division by zero", 3) end
  end
  self.mean, self.std = mean, std
end
function Normalize:__call(x)
  if not torch.is_tensor(x) or (x.dtype ~= "float32" and x.dtype ~= "float64") then
    error("Normalize: expected a float tensor, got " .. (torch.is_tensor(x) and x.dtype or type(x)), 2)
  end
  if x:dim() < 3 then error(string.format("Normalize: expected (C, H, W), got %d dims", x:dim()), 2) end
  local c = x:size(-3)
  for _, v in ipairs { self.mean, self.std } do
    if #v ~= 1 and #v ~= c then error(string.format("Normalize: %d values for %d channels", #v, c), 2) end
  end
  local m = torch.tensor(self.mean, { dtype = x.dtype }):view(-1, 1, 1)
  local s = torch.tensor(self.std, { dtype = x.dtype }):view(-1, 1, 1)
  return x:sub(m):div(s)
end
function Normalize:_batched() return { { kind = "normalize", mean = self.mean, std = self.std } } end
function Normalize:__tostring()
  return string.format("Normalize(mean=[%s], std=[%s])", table.concat(self.mean, ", "), table.concat(self.std, ", "))
end

-- RandomCrop(size, {padding=0}): size a number or {h, w}; zero padding on every side.
local RandomCrop = Transform:extend("RandomCrop")
T.RandomCrop = RandomCrop
function RandomCrop:__init(size, o)
  if type(size) == "number" then size = { size, size } end
  if not is_list_of_numbers(size) or #size ~= 2 then error("RandomCrop: size must be a number or {h, w}", 3) end
  local pad = o and o.padding or 0
  if type(pad) ~= "number" or pad < 0 or pad ~= math.floor(pad) then
    error("RandomCrop: padding must be a non-negative integer (per-side lists are not supported)", 3)
  end
  self.h, self.w, self.padding = math.tointeger(size[1]), math.tointeger(size[2]), math.tointeger(pad)
  if not self.h or not self.w or self.h < 1 or self.w < 1 then error("RandomCrop: size must be positive integers", 3) end
end
function RandomCrop:__call(x)
  if not torch.is_tensor(x) or x:dim() < 2 then error("RandomCrop: expected an image tensor (..., H, W)", 2) end
  local p = self.padding
  local H, W = x:size(-2), x:size(-1)
  if self.h > H + 2 * p or self.w > W + 2 * p then
    error(string.format("RandomCrop: required crop size (%d, %d) is larger than the (padded) input image size (%d, %d)",
      self.h, self.w, H + 2 * p, W + 2 * p), 2)
  end
  if p > 0 then
    local shape = x:size()
    local s = {}
    for i = 1, #shape do s[i] = shape[i] end
    s[#s - 1], s[#s] = H + 2 * p, W + 2 * p
    local padded = torch.zeros(s, { dtype = x.dtype })
    padded:narrow(-2, p + 1, H):narrow(-1, p + 1, W)[{}] = x
    x, H, W = padded, H + 2 * p, W + 2 * p
  end
  local top = torch.randint(0, H - self.h + 1, { 1 }):item()
  local left = torch.randint(0, W - self.w + 1, { 1 }):item()
  return x:narrow(-2, top + 1, self.h):narrow(-1, left + 1, self.w):contiguous()
end
function RandomCrop:_batched() return { { kind = "crop", h = self.h, w = self.w, pad = self.padding } } end
function RandomCrop:__tostring() return string.format("RandomCrop(size=(%d, %d), padding=%d)", self.h, self.w, self.padding) end

-- RandomHorizontalFlip(p=0.5)
local RandomHorizontalFlip = Transform:extend("RandomHorizontalFlip")
T.RandomHorizontalFlip = RandomHorizontalFlip
function RandomHorizontalFlip:__init(p)
  p = p == nil and 0.5 or p
  if type(p) ~= "number" or p < 0 or p > 1 then error("RandomHorizontalFlip: p must be a number in [0, 1]", 3) end
  self.p = p
end
function RandomHorizontalFlip:__call(x)
  if not torch.is_tensor(x) then error("RandomHorizontalFlip: expected a tensor, got " .. type(x), 2) end
  if torch.rand(1):item() < self.p then return x:flip(-1) end
  return x
end
function RandomHorizontalFlip:_batched() return { { kind = "flip", p = self.p } } end
function RandomHorizontalFlip:__tostring() return string.format("RandomHorizontalFlip(p=%s)", self.p) end

-- Lambda(fn)
local Lambda = Transform:extend("Lambda")
T.Lambda = Lambda
function Lambda:__init(fn)
  if type(fn) ~= "function" then error("Lambda: expected a function, got " .. type(fn), 3) end
  self.fn = fn
end
function Lambda:__call(x) return self.fn(x) end
function Lambda:__tostring() return "Lambda()" end

return T
