-- nn.Module: the base class of layers and models (PyTorch's torch.nn.Module).
--   local Net = nn.Module:extend("Net")
--   function Net:__init(n) self.fc = nn.Linear(n, 2) end   -- base initialised before
--   function Net:forward(x) return self.fc(x) end
--   local net = Net(4); net(x)
-- Registration on assignment: a Module goes to _modules, an nn.Parameter to _parameters (in
-- assignment order); register_buffer adds to _buffers. Those live outside the instance's raw
-- table so __index/__newindex see every read and write of them.
local torch = require "torch"
local class = require "torch.class"
local nn = require "nn"

local Object = class.Object
local Module = Object:extend("Module")

local is_tensor = torch.is_tensor
local param_set = nn._param_set

local function is_module(v)
  return type(v) == "table" and Object.is_instance(v, Module)
end
Module.is_module = is_module

-- an ordered dict: { keys = {...}, map = {...} }
local function odict() return { keys = {}, map = {} } end
local function oset(d, k, v)
  if d.map[k] == nil then d.keys[#d.keys + 1] = k end
  d.map[k] = v
end
local function odel(d, k)
  if d.map[k] == nil then return end
  d.map[k] = nil
  for i, key in ipairs(d.keys) do
    if key == k then table.remove(d.keys, i); break end
  end
end

-- Sets up the registries; idempotent so that a user's Net:__init may still call
-- nn.Module.__init(self) out of PyTorch habit.
local function base_init(self)
  if rawget(self, "_parameters") then return end
  rawset(self, "_parameters", odict())
  rawset(self, "_buffers", odict())
  rawset(self, "_non_persistent", {})
  rawset(self, "_modules", odict())
  rawset(self, "_forward_hooks", {})
  rawset(self, "_forward_pre_hooks", {})
  rawset(self, "training", true)
end
function Module:__init() base_init(self) end

-- Hot: every self.weight / self:forward of every layer call lands here. The class comes
-- first, as in Python, where methods and class attributes are found before
-- nn.Module.__getattr__ searches the registries: self:forward costs one lookup along the class
-- chain. The registries are raw fields, so self._parameters etc. below are plain table reads
-- (no rawget calls); the guard stops the recursion for an instance whose registries are not
-- set up yet.
local registry_names = { _parameters = true, _buffers = true, _modules = true }
local function instance_index(cls)
  return function(self, k)
    local v = cls[k]
    if v ~= nil then return v end
    if type(k) == "number" then
      local f = cls.__getitem
      if f then return f(self, k) end
      return nil
    end
    if registry_names[k] then return nil end
    local d = self._modules -- a name lives in one registry only; children are read most
    if d then
      v = d.map[k]
      if v ~= nil then return v end
      v = self._parameters.map[k]
      if v ~= nil then return v end
      return self._buffers.map[k]
    end
    return nil
  end
end

local function remove_everywhere(self, k)
  odel(rawget(self, "_parameters"), k)
  odel(rawget(self, "_buffers"), k)
  odel(rawget(self, "_modules"), k)
  rawget(self, "_non_persistent")[k] = nil
end

local function type_name(v)
  if is_tensor(v) then return "tensor" end
  if is_module(v) then return v.__name end
  return type(v)
end

local function instance_newindex(self, k, v)
  local params = rawget(self, "_parameters")
  if type(k) == "number" and self.__setitem then return self:__setitem(k, v) end
  if not params or type(k) ~= "string" then return rawset(self, k, v) end
  local bufs, mods = rawget(self, "_buffers"), rawget(self, "_modules")
  -- (re)assignment keeps an existing name's position, like PyTorch's OrderedDicts
  if is_module(v) then
    odel(params, k); odel(bufs, k)
    oset(mods, k, v)
  elseif is_tensor(v) and param_set[v] then
    odel(bufs, k); odel(mods, k)
    oset(params, k, v)
  elseif v == nil then
    remove_everywhere(self, k)
  elseif params.map[k] ~= nil then
    error(string.format("cannot assign '%s' as parameter '%s' (nn.Parameter or nil expected)", type_name(v), k), 2)
  elseif bufs.map[k] ~= nil then
    if not is_tensor(v) then
      error(string.format("cannot assign '%s' as buffer '%s' (tensor or nil expected)", type_name(v), k), 2)
    end
    bufs.map[k] = v
  elseif mods.map[k] ~= nil then
    error(string.format("cannot assign '%s' as child module '%s' (nn.Module or nil expected)", type_name(v), k), 2)
  else
    rawset(self, k, v)
  end
end

-- Applies forward pre-hooks, forward, forward hooks.
local function instance_call(self, ...)
  local pre = self._forward_pre_hooks -- raw fields (base_init): plain reads, no rawget calls
  local post = self._forward_hooks
  if (pre and #pre > 0) or (post and #post > 0) then
    local args = table.pack(...)
    for _, h in ipairs(pre) do
      local r = h(self, table.unpack(args, 1, args.n))
      if r ~= nil then args = table.pack(r) end
    end
    local out = self:forward(table.unpack(args, 1, args.n))
    for _, h in ipairs(post) do
      local r = h(self, args, out)
      if r ~= nil then out = r end
    end
    return out
  end
  return self:forward(...)
end

-- PyTorch's _addindent: indent every line but the first.
local function addindent(s, n)
  local pad = string.rep(" ", n)
  return (s:gsub("\n", "\n" .. pad))
end

local function instance_tostring(self)
  local lines = {}
  local extra = self:extra_repr()
  local nextra = 0
  if extra and extra ~= "" then
    for line in (extra .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = line; nextra = nextra + 1 end
  end
  local mods = rawget(self, "_modules")
  for _, k in ipairs(mods.keys) do
    lines[#lines + 1] = "(" .. k .. "): " .. addindent(tostring(mods.map[k]), 2)
  end
  local s = self:_get_name() .. "("
  if #lines > 0 then
    if nextra == 1 and #mods.keys == 0 then
      s = s .. lines[1]
    else
      s = s .. "\n  " .. table.concat(lines, "\n  ") .. "\n"
    end
  end
  return s .. ")"
end

-- Module:extend(name) makes a class whose instances register fields on assignment.
function Module.extend(parent, name)
  local cls = Object.extend(parent, name)
  cls.__index = instance_index(cls)
  cls.__newindex = instance_newindex
  cls.__call = instance_call
  cls.__tostring = instance_tostring
  -- the constructor: base registries first, then the class's own __init
  getmetatable(cls).__call = function(c, ...)
    local obj = setmetatable({}, c)
    base_init(obj)
    if c.__init then c.__init(obj, ...) end
    return obj
  end
  return cls
end

-- Module itself (nn.Module() makes an empty module)
Module.__index = instance_index(Module)
Module.__newindex = instance_newindex
Module.__call = instance_call
Module.__tostring = instance_tostring
getmetatable(Module).__call = function(c, ...)
  local obj = setmetatable({}, c)
  base_init(obj)
  return obj
end

function Module:_get_name() return self.__name end
function Module:extra_repr() return "" end

function Module:forward()
  error(self:_get_name() .. ": forward is not implemented", 2)
end

-- ---- registration -------------------------------------------------------------------------

local function check_name(self, what, name)
  if type(name) ~= "string" then error(what .. ": name must be a string, got " .. type(name), 3) end
  if name == "" then error(what .. ": name can't be empty", 3) end
  if name:find(".", 1, true) then error(what .. ": name can't contain \".\", got \"" .. name .. "\"", 3) end
  local raw = rawget(self, name)
  if raw ~= nil then error(what .. ": attribute '" .. name .. "' already exists", 3) end
end

function Module:register_buffer(name, t, persistent)
  check_name(self, "register_buffer", name)
  if t ~= nil and not is_tensor(t) then
    error("register_buffer: cannot assign '" .. type_name(t) .. "' as buffer '" .. name .. "' (tensor or nil expected)", 2)
  end
  if type(persistent) == "table" then persistent = persistent.persistent end
  if persistent == nil then persistent = true end
  odel(rawget(self, "_parameters"), name)
  odel(rawget(self, "_modules"), name)
  if t == nil then odel(rawget(self, "_buffers"), name); return end
  oset(rawget(self, "_buffers"), name, t)
  rawget(self, "_non_persistent")[name] = (not persistent) or nil
end

function Module:register_parameter(name, p)
  check_name(self, "register_parameter", name)
  if p == nil then remove_everywhere(self, name); return end
  if not is_tensor(p) then
    error("register_parameter: cannot assign '" .. type_name(p) .. "' as parameter '" .. name .. "' (nn.Parameter or nil expected)", 2)
  end
  if not param_set[p] then param_set[p] = true end
  odel(rawget(self, "_buffers"), name); odel(rawget(self, "_modules"), name)
  oset(rawget(self, "_parameters"), name, p)
end

function Module:add_module(name, m)
  check_name(self, "add_module", name)
  if m ~= nil and not is_module(m) then
    error("add_module: " .. type_name(m) .. " is not a Module subclass", 2)
  end
  remove_everywhere(self, name)
  if m ~= nil then oset(rawget(self, "_modules"), name, m) end
end
Module.register_module = Module.add_module

function Module:register_forward_hook(fn)
  local hooks = rawget(self, "_forward_hooks")
  hooks[#hooks + 1] = fn
  return { remove = function() for i, h in ipairs(hooks) do if h == fn then table.remove(hooks, i) break end end end }
end
function Module:register_forward_pre_hook(fn)
  local hooks = rawget(self, "_forward_pre_hooks")
  hooks[#hooks + 1] = fn
  return { remove = function() for i, h in ipairs(hooks) do if h == fn then table.remove(hooks, i) break end end end }
end

-- ---- iteration ----------------------------------------------------------------------------
-- A list that is also an iterator: `#l`, `l[i]`, ipairs(l), and `for v in l do` all work.
local List = {}
List.__index = List
function List.__call(self)
  local i = (rawget(self, "_it") or 0) + 1
  rawset(self, "_it", i)
  return self[i]
end
local function list(t) return setmetatable(t, List) end

-- A list of {name, value} pairs that is also an iterator: `for name, v in m:named_x() do`.
local NamedList = {}
NamedList.__index = NamedList
function NamedList.__call(self)
  local i = (rawget(self, "_it") or 0) + 1
  rawset(self, "_it", i)
  local e = self[i]
  if e then return e[1], e[2] end
  return nil
end
local function named(t) return setmetatable(t, NamedList) end

local function join(prefix, name) return prefix == "" and name or (prefix .. "." .. name) end

-- named_modules in pre-order: self first with name "" (dedup by identity)
local function walk_modules(m, prefix, out, seen)
  if seen[m] then return end
  seen[m] = true
  out[#out + 1] = { prefix, m }
  local mods = rawget(m, "_modules")
  for _, k in ipairs(mods.keys) do walk_modules(mods.map[k], join(prefix, k), out, seen) end
end

function Module:named_modules(prefix)
  local out = {}
  walk_modules(self, prefix or "", out, {})
  return named(out)
end
function Module:modules()
  local out = {}
  for _, e in ipairs(self:named_modules()) do out[#out + 1] = e[2] end
  return list(out)
end
function Module:named_children()
  local out, seen = {}, {}
  local mods = rawget(self, "_modules")
  for _, k in ipairs(mods.keys) do
    local m = mods.map[k]
    if not seen[m] then seen[m] = true; out[#out + 1] = { k, m } end
  end
  return named(out)
end
function Module:children()
  local out = {}
  for _, e in ipairs(self:named_children()) do out[#out + 1] = e[2] end
  return list(out)
end

local function named_members(self, field, prefix, recurse, only_persistent)
  local out, seen = {}, {}
  local mods
  if recurse == false then mods = { { prefix or "", self } } else mods = self:named_modules(prefix) end
  for _, e in ipairs(mods) do
    local mp, m = e[1], e[2]
    local d = rawget(m, field)
    local np = rawget(m, "_non_persistent")
    for _, k in ipairs(d.keys) do
      local v = d.map[k]
      if not seen[v] and not (only_persistent and np[k]) then
        seen[v] = true
        out[#out + 1] = { join(mp, k), v }
      end
    end
  end
  return out
end

function Module:named_parameters(prefix, recurse)
  if type(prefix) == "table" then prefix, recurse = prefix.prefix, prefix.recurse end
  return named(named_members(self, "_parameters", prefix, recurse))
end
function Module:parameters(recurse)
  if type(recurse) == "table" then recurse = recurse.recurse end
  local out = {}
  for _, e in ipairs(named_members(self, "_parameters", "", recurse)) do out[#out + 1] = e[2] end
  return list(out)
end
function Module:named_buffers(prefix, recurse)
  if type(prefix) == "table" then prefix, recurse = prefix.prefix, prefix.recurse end
  return named(named_members(self, "_buffers", prefix, recurse))
end
function Module:buffers(recurse)
  if type(recurse) == "table" then recurse = recurse.recurse end
  local out = {}
  for _, e in ipairs(named_members(self, "_buffers", "", recurse)) do out[#out + 1] = e[2] end
  return list(out)
end

-- ---- modes, gradients, devices ------------------------------------------------------------

function Module:train(mode)
  if mode == nil then mode = true end
  if type(mode) ~= "boolean" then error("train: training mode is expected to be boolean, got " .. type(mode), 2) end
  for _, m in ipairs(self:modules()) do rawset(m, "training", mode) end
  return self
end
function Module:eval() return self:train(false) end

function Module:requires_grad_(b)
  if b == nil then b = true end
  for _, p in ipairs(self:parameters()) do p:requires_grad_(b) end
  return self
end

function Module:zero_grad(set_to_none)
  if type(set_to_none) == "table" then set_to_none = set_to_none.set_to_none end
  if set_to_none == nil then set_to_none = true end
  for _, p in ipairs(self:parameters()) do
    if p.grad ~= nil then
      if set_to_none then p.grad = nil else
        local g = p.grad
        torch.no_grad(function() g:zero_() end)
        p.grad = g
      end
    end
  end
end

function Module:apply(fn)
  for _, m in ipairs(self:children()) do m:apply(fn) end
  fn(self)
  return self
end

local FLOAT = { float32 = true, float64 = true, float16 = true, bfloat16 = true }
local DTYPES = { float32 = true, float64 = true, float16 = true, bfloat16 = true, int64 = true, int32 = true,
  uint8 = true, bool = true }

-- Converts every parameter and buffer IN PLACE (t.data = converted), so references held
-- elsewhere (an optimizer's parameter list) see the move. fn(t) -> converted tensor.
function Module:_apply(fn)
  for _, m in ipairs(self:modules()) do
    for _, d in ipairs({ rawget(m, "_parameters"), rawget(m, "_buffers") }) do
      for _, k in ipairs(d.keys) do
        local t = d.map[k]
        local new = torch.no_grad(function() return fn(t) end)
        if new ~= nil and new ~= t then
          local g = t.grad
          if g ~= nil then t.grad = nil end
          t.data = new
          if g ~= nil then t.grad = torch.no_grad(function() return fn(g) end) end
        end
      end
    end
  end
  return self
end

-- to(device | dtype | tensor | {device=, dtype=}): dtype changes only floating tensors.
function Module:to(a, b)
  local device, dtype
  local function take(v)
    if v == nil then return end
    if is_tensor(v) then device, dtype = v.device, v.dtype
    elseif type(v) == "table" then device, dtype = v.device or device, v.dtype or dtype
    elseif DTYPES[v] then dtype = v
    else device = v end
  end
  take(a); take(b)
  if dtype and not FLOAT[dtype] then
    error("to: nn.Module.to only accepts floating point dtypes, but got desired dtype=" .. dtype, 2)
  end
  return self:_apply(function(t)
    local r = t
    if device and tostring(r.device) ~= tostring(device) then r = r:to(device) end
    if dtype and FLOAT[r.dtype] and r.dtype ~= dtype then r = r:to(dtype) end
    return r
  end)
end
function Module:cuda(i) return self:to(i and ("cuda:" .. i) or "cuda") end
function Module:cpu() return self:to("cpu") end
function Module:float() return self:to("float32") end
function Module:double() return self:to("float64") end
function Module:half() return self:to("float16") end

-- ---- state ---------------------------------------------------------------------------------

-- state_dict(): name -> detached tensor sharing storage (parameters, persistent buffers).
function Module:state_dict(opts)
  local prefix = type(opts) == "table" and opts.prefix or (type(opts) == "string" and opts) or ""
  local sd = {}
  for _, e in ipairs(self:_state_entries(prefix)) do sd[e[1]] = e[2]:detach() end
  return sd
end

-- the expected keys in order: {name, tensor}
function Module:_state_entries(prefix)
  local out = {}
  for _, e in ipairs(self:named_modules(prefix or "")) do
    local mp, m = e[1], e[2]
    local ps, bs, np = rawget(m, "_parameters"), rawget(m, "_buffers"), rawget(m, "_non_persistent")
    for _, k in ipairs(ps.keys) do out[#out + 1] = { join(mp, k), ps.map[k] } end
    for _, k in ipairs(bs.keys) do
      if not np[k] then out[#out + 1] = { join(mp, k), bs.map[k] } end
    end
  end
  return out
end

local function shape_str(t)
  local s = {}
  for i = 1, t:dim() do s[i] = tostring(t:size(i)) end
  return "[" .. table.concat(s, ", ") .. "]"
end

local function quoted(keys)
  local q = {}
  for i, k in ipairs(keys) do q[i] = '"' .. k .. '"' end
  return table.concat(q, ", ")
end

-- load_state_dict(sd, {strict=true}) -> missing, unexpected (lists of keys)
function Module:load_state_dict(sd, opts)
  if type(sd) ~= "table" then error("load_state_dict: expected a table of tensors, got " .. type(sd), 2) end
  local strict = true
  if type(opts) == "table" then if opts.strict ~= nil then strict = opts.strict end
  elseif opts ~= nil then strict = opts end
  local entries = self:_state_entries("")
  local expected, missing, unexpected, errors = {}, {}, {}, {}
  for _, e in ipairs(entries) do
    local k, t = e[1], e[2]
    expected[k] = true
    local v = sd[k]
    if v == nil then
      missing[#missing + 1] = k
    elseif not is_tensor(v) then
      errors[#errors + 1] = string.format('While copying the parameter named "%s", expected a tensor from checkpoint but received %s', k, type(v))
    elseif not torch.equal(torch.tensor(v.shape), torch.tensor(t.shape)) and not (v:dim() == t:dim() and v:dim() == 0) then
      errors[#errors + 1] = string.format("size mismatch for %s: copying a param with shape %s from checkpoint, the shape in current model is %s.",
        k, shape_str(v), shape_str(t))
    end
  end
  for k in pairs(sd) do
    if not expected[k] then unexpected[#unexpected + 1] = tostring(k) end
  end
  table.sort(unexpected)
  if strict then
    if #unexpected > 0 then
      table.insert(errors, 1, "Unexpected key(s) in state_dict: " .. quoted(unexpected) .. ". ")
    end
    if #missing > 0 then
      table.insert(errors, 1, "Missing key(s) in state_dict: " .. quoted(missing) .. ". ")
    end
  end
  if #errors > 0 then
    error("Error(s) in loading state_dict for " .. self:_get_name() .. ":\n\t" .. table.concat(errors, "\n\t"), 2)
  end
  torch.no_grad(function()
    for _, e in ipairs(entries) do
      local v = sd[e[1]]
      if v ~= nil then e[2]:copy_(v) end
    end
  end)
  return missing, unexpected
end

-- A short description used in error messages: "Linear in_features=9".
function Module:_describe()
  local extra = self:extra_repr()
  local first = extra and extra:match("^([^,\n]+)")
  if first and first ~= "" then return self:_get_name() .. " " .. first end
  return self:_get_name()
end

-- Raises "<Name first_extra>: msg" from inside a layer's forward.
function Module:_error(msg, level)
  error(self:_describe() .. ": " .. msg, (level or 1) + 1)
end

Module._odict = { new = odict, set = oset, del = odel }
Module._list = list
Module._named = named
return Module
