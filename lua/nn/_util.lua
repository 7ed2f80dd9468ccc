-- Shared helpers of the layer classes: argument parsing (positional or a trailing options
-- table, API.md's rule) and Python-style formatting for extra_repr (PyTorch's layout).
local torch = require "torch"
local U = {}

local function has_string_key(t)
  for k in pairs(t) do if type(k) == "string" then return true end end
  return false
end

-- U.args("Conv2d", {"in_channels", ...}, {stride = 1, ...}, ...) -> table of named values
function U.args(fname, names, defaults, ...)
  local n = select("#", ...)
  local a = table.pack(...)
  local r = {}
  local last = a[n]
  if n > 0 and type(last) == "table" and getmetatable(last) == nil and has_string_key(last) then
    n = n - 1
    for k, v in pairs(last) do
      if type(k) == "string" then
        local ok = false
        for _, nm in ipairs(names) do if nm == k then ok = true break end end
        if not ok then error(fname .. ": unexpected keyword argument '" .. k .. "'", 3) end
        r[k] = v
      end
    end
  end
  if n > #names then
    error(string.format("%s: takes at most %d arguments (%d given)", fname, #names, n), 3)
  end
  for i = 1, n do
    if a[i] ~= nil then
      if r[names[i]] ~= nil then error(fname .. ": got multiple values for argument '" .. names[i] .. "'", 3) end
      r[names[i]] = a[i]
    end
  end
  for k, v in pairs(defaults or {}) do if r[k] == nil then r[k] = v end end
  return r
end

-- Python's repr of a number: integers as integers, floats shortest round-trip ("1e-05", "0.1", "1.0").
function U.num(x)
  if math.type(x) == "integer" then return tostring(x) end
  if x ~= x then return "nan" end
  if x == math.huge then return "inf" elseif x == -math.huge then return "-inf" end
  if x == math.floor(x) and math.abs(x) < 1e16 then return string.format("%.1f", x) end
  local s
  for p = 1, 17 do
    s = string.format("%." .. p .. "g", x)
    if tonumber(s) == x then break end
  end
  -- Python writes the exponent with at least two digits and no '+' padding beyond that
  s = s:gsub("e([%+%-])0*(%d%d)", "e%1%2"):gsub("e%+", "e+")
  if not s:find("[%.e]") then s = s .. ".0" end
  return s
end

-- Python's str of a value: True/False/None, tuples "(3, 3)" and "(3,)".
function U.py(v)
  if v == nil then return "None" end
  if v == true then return "True" elseif v == false then return "False" end
  if type(v) == "number" then return U.num(v) end
  if type(v) == "table" then
    local parts = {}
    for i, x in ipairs(v) do parts[i] = U.py(x) end
    if #parts == 1 then return "(" .. parts[1] .. ",)" end
    return "(" .. table.concat(parts, ", ") .. ")"
  end
  return tostring(v)
end

-- a number or a list into an n-tuple (PyTorch's _pair/_single)
function U.tuple(v, n, what)
  if type(v) == "number" then
    local t = {}
    for i = 1, n do t[i] = v end
    return t
  end
  if type(v) == "table" and #v == n then
    local t = {}
    for i = 1, n do t[i] = v[i] end
    return t
  end
  if type(v) == "table" and #v == 1 then
    local t = {}
    for i = 1, n do t[i] = v[1] end
    return t
  end
  error(string.format("%s: expected a number or a list of %d numbers", what or "argument", n), 3)
end

function U.all_eq(t, v)
  for _, x in ipairs(t) do if x ~= v then return false end end
  return true
end

function U.F() return require("nn").functional end

function U.shape_str(t)
  local s = {}
  for i = 1, t:dim() do s[i] = tostring(t:size(i)) end
  return "[" .. table.concat(s, ", ") .. "]"
end

-- creation options from a layer's device=/dtype= arguments (never an empty table)
function U.opts(a)
  return { dtype = a.dtype or torch.get_default_dtype(), device = a.device or "cpu" }
end

U.torch = torch
return U
