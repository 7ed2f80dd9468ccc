-- nn._loss_util: argument handling shared by the loss classes (nn/*Loss.lua).
local M = {}

local function is_options(t)
  if type(t) ~= "table" then return false end
  if next(t) == nil then return true end -- {}: no options (not an empty weight list)
  for k in pairs(t) do
    if type(k) == "string" then return true end
  end
  return false
end

-- PyTorch's constructor arguments: positional values in the order of names, or a trailing
-- options table; unknown names are errors naming the class.
function M.options(cls, names, ...)
  local n = select("#", ...)
  local a = { ... }
  local o = {}
  if n > 0 and is_options(a[n]) then
    local known = {}
    for _, k in ipairs(names) do known[k] = true end
    for k, v in pairs(a[n]) do
      if not known[k] then error(("%s: unexpected option '%s'"):format(cls, tostring(k)), 4) end
      o[k] = v
    end
    n = n - 1
  end
  if n > #names then error(("%s: too many arguments (%d, at most %d)"):format(cls, n, #names), 4) end
  for i = 1, n do
    if a[i] ~= nil then o[names[i]] = a[i] end
  end
  return o
end

-- legacy size_average / reduce -> reduction (PyTorch's _Reduction.legacy_get_string)
function M.reduction(o)
  if o.size_average ~= nil or o.reduce ~= nil then
    if o.reduce == false then return "none" end
    return o.size_average == false and "sum" or "mean"
  end
  return o.reduction or "mean"
end

-- PyTorch registers weight / pos_weight as buffers (saved in state_dict, moved by :to()).
function M.buffer(self, name, t)
  if t == nil then return end
  if self.register_buffer then self:register_buffer(name, t) else self[name] = t end
end

return M
