-- data.Dataset: the base class of map-style datasets. Subclasses define :__len() and
-- :get(i) (i from 1) returning the sample's fields (several return values).
local class = require "torch.class"

local Dataset = class("Dataset")

function Dataset:__len() error(self.__name .. ": subclasses of data.Dataset must define __len", 2) end
function Dataset:get(i) error(self.__name .. ": subclasses of data.Dataset must define get(i)", 2) end
function Dataset:__tostring() return string.format("%s(%d samples)", self.__name, #self) end

-- Checks an index against #self; returns it as an integer (negative counts from the end).
function Dataset:_check_index(i)
  local n = #self
  if math.type(i) ~= "integer" then
    if type(i) == "number" and i == math.floor(i) then i = math.tointeger(i)
    else error(string.format("%s:get: index must be an integer, got %s", self.__name, tostring(i)), 3) end
  end
  if i < 0 then i = n + 1 + i end
  if i < 1 or i > n then
    error(string.format("%s:get: index %d out of range 1..%d", self.__name, i, n), 3)
  end
  return i
end

return Dataset
