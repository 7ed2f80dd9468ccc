-- torch.class: a small class helper shared by data and nn.
--   local Base = require("torch.class")("Base")     -- or Class:extend("Base")
--   function Base:__init(a) self.a = a end
--   local Sub = Base:extend("Sub")
--   function Sub:__init(a, b) Sub.super.__init(self, a); self.b = b end
--   local s = Sub(1, 2)   -- calls __init; s.__name == "Sub"; tostring(s) uses __tostring
-- Metamethods (__len, __call, __tostring, __index functions, ...) defined on a class are
-- copied into each subclass so instances of subclasses see them too.
local Object = { __name = "Object" }
Object.__index = Object

local META = { "__len", "__call", "__tostring", "__eq", "__lt", "__le", "__concat", "__close", "__gc",
  "__add", "__sub", "__mul", "__div", "__unm", "__pairs" }

local function new(cls, ...)
  local obj = setmetatable({}, cls)
  if cls.__init then cls.__init(obj, ...) end
  return obj
end

function Object:__init() end
function Object:__tostring() return self.__name .. "()" end

function Object:extend(name)
  local cls = {}
  for _, k in ipairs(META) do
    if rawget(self, k) then cls[k] = rawget(self, k) end
  end
  -- an instance __call must not be confused with the class constructor below
  cls.__index = cls
  cls.__name = name or "Object"
  cls.super = self
  return setmetatable(cls, {
    __index = self,
    __call = new,
    __tostring = function(c) return "class " .. c.__name end,
  })
end

-- is_instance(obj, cls): true when obj's class is cls or a subclass of it.
function Object.is_instance(obj, cls)
  if type(obj) ~= "table" then return false end
  local c = getmetatable(obj)
  while c do
    if c == cls then return true end
    c = rawget(c, "super")
  end
  return false
end

setmetatable(Object, { __call = new, __tostring = function() return "class Object" end })

-- require("torch.class")("Name") makes a root class; Object:extend works as well.
return setmetatable({ Object = Object, extend = function(_, name) return Object:extend(name) end },
  { __call = function(_, name, parent) return (parent or Object):extend(name) end })
