-- nn.ModuleDict(tbl): tbl is a table name -> Module (added in sorted key order, since a Lua
-- table has no order) or a list of {name, module} pairs (kept in order).
-- md.name / md["name"], md:keys(), md:values(), md:items() (an iterator), #md, md:update(t),
-- md:pop(name).
local nn = require "nn"
local Module = nn.Module
local ModuleDict = Module:extend("ModuleDict")

local function pairs_of(t)
  local out = {}
  if type(t) ~= "table" then error("ModuleDict: expected a table of modules", 3) end
  if Module.is_module(t) then
    for _, e in ipairs(t:named_children()) do out[#out + 1] = e end
    return out
  end
  if type(t[1]) == "table" and not Module.is_module(t[1]) then
    for _, e in ipairs(t) do out[#out + 1] = { e[1], e[2] } end
    return out
  end
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do out[#out + 1] = { k, t[k] } end
  return out
end

function ModuleDict:__init(t)
  if t ~= nil then self:update(t) end
end

function ModuleDict:update(t)
  for _, e in ipairs(pairs_of(t)) do
    if type(e[1]) ~= "string" then error("ModuleDict: keys must be strings", 2) end
    if not Module.is_module(e[2]) then error("ModuleDict: value for '" .. e[1] .. "' is not a Module", 2) end
    local d = rawget(self, "_modules")
    if d.map[e[1]] ~= nil then d.map[e[1]] = e[2] else self:add_module(e[1], e[2]) end
  end
end

function ModuleDict:__len() return #rawget(self, "_modules").keys end
function ModuleDict:keys()
  local out = {}
  for i, k in ipairs(rawget(self, "_modules").keys) do out[i] = k end
  return out
end
function ModuleDict:values()
  local d = rawget(self, "_modules")
  local out = {}
  for i, k in ipairs(d.keys) do out[i] = d.map[k] end
  return out
end
function ModuleDict:items()
  local d = rawget(self, "_modules")
  local out = {}
  for i, k in ipairs(d.keys) do out[i] = { k, d.map[k] } end
  return Module._named(out)
end
function ModuleDict:contains(k) return rawget(self, "_modules").map[k] ~= nil end
function ModuleDict:pop(k)
  local m = rawget(self, "_modules").map[k]
  if m == nil then error("ModuleDict.pop: no key '" .. tostring(k) .. "'", 2) end
  self[k] = nil
  return m
end
function ModuleDict:clear()
  for _, k in ipairs(self:keys()) do self[k] = nil end
end
function ModuleDict:forward()
  error("ModuleDict: is not callable (it has no forward); index it instead", 2)
end

return ModuleDict
