-- data.utils: make_grid and save_image (torchvision.utils), and data.random_split.
local C = require "data._C"

local utils = {}

local function opt(o, k, d) if o and o[k] ~= nil then return o[k] end return d end

-- make_grid(batch, {nrow=8, padding=2, normalize=false, value_range=, scale_each=false, pad_value=0})
-- batch: (B, C, H, W) or (C, H, W) or (H, W); returns (3, H', W') (1-channel images repeated to 3,
-- like torchvision) in batch's dtype.
function utils.make_grid(t, o)
  if type(t) == "table" and not torch.is_tensor(t) then t = torch.stack(t) end
  if not torch.is_tensor(t) then error("make_grid: expected a tensor or a list of tensors, got " .. type(t), 2) end
  local nrow, padding = opt(o, "nrow", 8), opt(o, "padding", 2)
  local pad_value = opt(o, "pad_value", 0)
  if t:dim() == 2 then t = t:unsqueeze(1) end
  if t:dim() == 3 then
    if t:size(1) == 1 then t = torch.cat({ t, t, t }, 1) end
    t = t:unsqueeze(1)
  end
  if t:dim() ~= 4 then error(string.format("make_grid: expected (B, C, H, W), (C, H, W) or (H, W), got %d dims", t:dim()), 2) end
  if t:size(2) == 1 then t = torch.cat({ t, t, t }, 2) end
  if opt(o, "normalize", false) then
    t = t:clone()
    local function norm(img)
      local r = opt(o, "value_range", nil)
      local lo, hi
      if r then lo, hi = r[1], r[2] else lo, hi = img:min():item(), img:max():item() end
      img[{}] = img:clamp(lo, hi):sub(lo):div(math.max(hi - lo, 1e-5))
    end
    if opt(o, "scale_each", false) then
      for b = 1, t:size(1) do norm(t[b]) end
    else
      norm(t)
    end
  end
  local B = t:size(1)
  if B == 1 then return t[1] end
  local xmaps = math.min(nrow, B)
  local ymaps = math.ceil(B / xmaps)
  local h, w = t:size(3) + padding, t:size(4) + padding
  local grid = torch.full({ t:size(2), h * ymaps + padding, w * xmaps + padding }, pad_value, { dtype = t.dtype })
  local k = 1
  for y = 0, ymaps - 1 do
    for x = 0, xmaps - 1 do
      if k > B then break end
      grid:narrow(2, y * h + padding + 1, h - padding):narrow(3, x * w + padding + 1, w - padding)[{}] = t[k]
      k = k + 1
    end
  end
  return grid
end

-- save_image(t, path, {nrow=, padding=, normalize=, ...}): writes an 8-bit PNG. Float tensors
-- are taken in [0, 1] (x * 255 + 0.5, clamped, like torchvision); uint8 tensors as they are.
-- (B, C, H, W) batches go through make_grid; (C, H, W) with C = 1, 3 or 4 or (H, W) directly.
function utils.save_image(t, path, o)
  if type(path) ~= "string" then error("save_image: expected a file name as argument 2", 2) end
  if type(t) == "table" and not torch.is_tensor(t) then t = torch.stack(t) end
  if t:dim() == 4 or (o and (o.nrow or o.normalize)) then
    t = utils.make_grid(t, o)
  elseif t:dim() == 2 then
    t = t:unsqueeze(1)
  end
  if t:dim() ~= 3 then error(string.format("save_image: expected (B, C, H, W), (C, H, W) or (H, W), got %d dims", t:dim()), 2) end
  local c = t:size(1)
  if c ~= 1 and c ~= 3 and c ~= 4 then error(string.format("save_image: expected 1, 3 or 4 channels, got %d", c), 2) end
  if t.dtype ~= "uint8" then
    t = t:to("float32"):mul(255):add(0.5):clamp(0, 255):to("uint8")
  end
  C.png_write(path, t:permute(2, 3, 1):contiguous())
end

-- random_split(ds, lengths, {seed=} or a data.Generator): lengths as counts summing to #ds, or
-- fractions summing to 1 (remainders handed out round-robin, like PyTorch).
function utils.random_split(ds, lengths, o)
  local Subset = require "data.Subset"
  local n = #ds
  local sum = 0
  for _, l in ipairs(lengths) do sum = sum + l end
  local counts = {}
  local isfrac = math.abs(sum - 1) < 1e-9 and sum ~= n
  if isfrac then
    local total = 0
    for i, f in ipairs(lengths) do
      if f < 0 or f > 1 then error(string.format("random_split: fraction at index %d is not between 0 and 1", i), 2) end
      counts[i] = math.floor(n * f); total = total + counts[i]
    end
    for i = 0, n - total - 1 do local k = i % #counts + 1; counts[k] = counts[k] + 1 end
  else
    for i, l in ipairs(lengths) do
      if math.type(l) ~= "integer" and l ~= math.floor(l) then
        error(string.format("random_split: lengths must be integers or fractions summing to 1, got %s", tostring(l)), 2)
      end
      counts[i] = math.tointeger(l)
    end
    if sum ~= n then
      error(string.format("random_split: sum of input lengths (%s) does not equal the length of the input dataset (%d)", tostring(sum), n), 2)
    end
  end
  local perm
  local gen = o and (o.generator or (getmetatable(o) and o.randperm and o))
  if o and o.seed then gen = C.Generator(o.seed) end
  if gen then perm = gen:randperm(n):tolist() else perm = torch.randperm(n):tolist() end
  local out, pos = {}, 0
  for i, c in ipairs(counts) do
    out[i] = Subset(ds, table.move(perm, pos + 1, pos + c, 1, {}))
    pos = pos + c
  end
  return out
end

return utils
