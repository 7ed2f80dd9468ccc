-- nn.utils: gradient clipping and parameter <-> vector conversion (torch.nn.utils).
local torch = require "torch"
local utils = {}

local function plist(params)
  if torch.is_tensor(params) then return { params } end
  local out = {}
  for _, p in ipairs(params) do out[#out + 1] = p end
  return out
end

-- clip_grad_norm_(params, max_norm, norm_type=2, error_if_nonfinite=false) -> total norm (0-d tensor)
function utils.clip_grad_norm_(params, max_norm, norm_type, error_if_nonfinite)
  if type(norm_type) == "table" then
    error_if_nonfinite = norm_type.error_if_nonfinite
    norm_type = norm_type.norm_type
  end
  norm_type = norm_type or 2.0
  if type(norm_type) == "string" and norm_type == "inf" then norm_type = math.huge end
  local grads = {}
  for _, p in ipairs(plist(params)) do
    local g = p.grad
    if g ~= nil then grads[#grads + 1] = g end
  end
  if #grads == 0 then return torch.tensor(0.0) end
  return torch.no_grad(function()
    local total
    if norm_type == math.huge then
      local m = {}
      for i, g in ipairs(grads) do m[i] = g:abs():max() end
      total = torch.stack(m):max()
    else
      local n = {}
      for i, g in ipairs(grads) do n[i] = g:norm(norm_type) end
      total = torch.stack(n):norm(norm_type)
    end
    local tv = total:item()
    if error_if_nonfinite and (tv ~= tv or tv == math.huge or tv == -math.huge) then
      error(string.format("clip_grad_norm_: the total norm of order %s for gradients from `parameters` is non-finite, so it cannot be clipped", tostring(norm_type)), 2)
    end
    local coef = max_norm / (tv + 1e-6)
    if coef < 1 then
      for _, g in ipairs(grads) do g:mul_(coef) end
    end
    return total
  end)
end

function utils.clip_grad_value_(params, clip_value)
  torch.no_grad(function()
    for _, p in ipairs(plist(params)) do
      local g = p.grad
      if g ~= nil then g:clamp_(-clip_value, clip_value) end
    end
  end)
end

-- parameters_to_vector(params) -> 1-D tensor (differentiable, like torch.cat of views)
function utils.parameters_to_vector(params)
  local parts = {}
  for i, p in ipairs(plist(params)) do parts[i] = p:reshape(-1) end
  return torch.cat(parts)
end

-- vector_to_parameters(vec, params): copies slices of vec into the parameters' data
function utils.vector_to_parameters(vec, params)
  if not torch.is_tensor(vec) or vec:dim() ~= 1 then
    error("vector_to_parameters: expected a 1-D tensor", 2)
  end
  local ps = plist(params)
  local total = 0
  for _, p in ipairs(ps) do total = total + p:numel() end
  if total ~= vec:numel() then
    error(string.format("vector_to_parameters: vector has %d elements, parameters have %d", vec:numel(), total), 2)
  end
  torch.no_grad(function()
    local off = 1
    for _, p in ipairs(ps) do
      local n = p:numel()
      p:copy_(vec:narrow(1, off, n):view(p.shape))
      off = off + n
    end
  end)
end

return utils
