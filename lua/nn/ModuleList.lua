-- nn.ModuleList(list): ml[i] (1-based, negative from the end), #ml, ipairs(ml),
-- ml:append(m), ml:extend(list), ml:insert(i, m). Children are named "1", "2", ...
local nn = require "nn"
local Module = nn.Module
local ModuleList = Module:extend("ModuleList")

function ModuleList:__init(list)
  if list ~= nil then self:extend(list) end
end

function ModuleList:__len() return #rawget(self, "_modules").keys end

function ModuleList:__getitem(i)
  local d = rawget(self, "_modules")
  local n = #d.keys
  if math.type(i) ~= "integer" then error("ModuleList: index must be an integer", 2) end
  if i < 0 then i = n + i + 1 end
  if i < 1 or i > n then return nil end
  return d.map[d.keys[i]]
end

function ModuleList:__setitem(i, m)
  local d = rawget(self, "_modules")
  local n = #d.keys
  if i < 0 then i = n + i + 1 end
  if i == n + 1 then return self:append(m) end
  if i < 1 or i > n then error(string.format("ModuleList: index %d is out of range (length %d)", i, n), 3) end
  if not Module.is_module(m) then error("ModuleList: can only assign a Module", 3) end
  d.map[d.keys[i]] = m
end

function ModuleList:append(m)
  if not Module.is_module(m) then error("ModuleList.append: expected a Module, got " .. type(m), 2) end
  self:add_module(tostring(#self + 1), m)
  return self
end

function ModuleList:extend(list)
  if type(list) ~= "table" then error("ModuleList.extend: expected a list of Modules", 2) end
  local items = {}
  if Module.is_module(list) then
    for _, m in ipairs(list:children()) do items[#items + 1] = m end
  else
    for _, m in ipairs(list) do items[#items + 1] = m end
  end
  for i, m in ipairs(items) do
    if not Module.is_module(m) then error(string.format("ModuleList.extend: element %d is not a Module", i), 2) end
    self:add_module(tostring(#self + 1), m)
  end
  return self
end

-- insert(index, m): m becomes element index; later ones move up (renamed).
function ModuleList:insert(index, m)
  if not Module.is_module(m) then error("ModuleList.insert: expected a Module", 2) end
  local d = rawget(self, "_modules")
  local items = {}
  for i, k in ipairs(d.keys) do items[i] = d.map[k] end
  local n = #items
  if index < 0 then index = n + index + 1 end
  if index < 1 then index = 1 end
  if index > n + 1 then index = n + 1 end
  table.insert(items, index, m)
  d.keys, d.map = {}, {}
  for i, x in ipairs(items) do
    d.keys[i] = tostring(i)
    d.map[tostring(i)] = x
  end
  return self
end

function ModuleList:forward()
  error("ModuleList: is not callable (it has no forward); iterate over it instead", 2)
end

return ModuleList
