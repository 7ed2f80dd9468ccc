-- optim.Optimizer: the base class of every optimizer (PyTorch 1.13's torch.optim.Optimizer).
--
-- opt.param_groups: list of groups {params = {tensors}, lr = ..., <hyperparameters>}; the
-- options given per group override the optimizer's defaults. opt.state[p]: per-parameter
-- state table keyed by the parameter tensor, created lazily at the first step in which p has
-- a grad. Subclasses implement _step_group(group), which gathers the group's parameters
-- that have a grad and runs one multi-tensor C update (torch._optim.*) for all of them.
local torch = require "torch"

local Optimizer = {}
Optimizer.__index = Optimizer
Optimizer.__name = "Optimizer"

-- A small class helper (a shared lua/torch/class.lua may replace it): Class(...) calls
-- Class.__init(self, ...) on a fresh instance; subclasses inherit through __index.
local function class(name, parent)
  local cls = {}
  cls.__index = cls
  cls.__name = name
  cls.__tostring = parent and parent.__tostring
  setmetatable(cls, {
    __index = parent,
    __call = function(c, ...)
      local self = setmetatable({}, c)
      self:__init(...)
      return self
    end,
  })
  return cls
end
Optimizer.class = class
setmetatable(Optimizer, { __call = function(c, ...)
  local self = setmetatable({}, c)
  self:__init(...)
  return self
end })

-- Marker for required hyperparameters (PyTorch's `required`).
Optimizer.required = setmetatable({}, { __tostring = function() return "<required parameter>" end })

local function is_tensor(x) return type(x) == "userdata" and getmetatable(x) == torch._metatable end
Optimizer.is_tensor = is_tensor

-- Numbers in messages: -1, 1.5, 0.001 (no trailing .0 on integral floats).
function Optimizer.fmt(v)
  if type(v) == "number" then return string.format("%.14g", v) end
  return tostring(v)
end

-- One-level copy (betas and other small tables are copied, tensors are shared).
local function copy_table(t)
  local r = {}
  for k, v in pairs(t) do r[k] = type(v) == "table" and { table.unpack(v) } or v end
  return r
end

function Optimizer:__init(params, defaults)
  self.defaults = defaults
  self.state = {}
  self.param_groups = {}
  if is_tensor(params) then
    error(self.__name .. ": params argument given to the optimizer should be a list of tensors or groups, but got a tensor", 3)
  end
  if type(params) ~= "table" then
    error(self.__name .. ": params argument given to the optimizer should be a list of tensors or groups, but got a " .. type(params), 3)
  end
  if #params == 0 then error(self.__name .. ": optimizer got an empty parameter list", 3) end
  if is_tensor(params[1]) then params = { { params = params } } end
  for _, g in ipairs(params) do self:add_param_group(g) end
end

function Optimizer:__tostring()
  local lines = { self.__name .. " (" }
  for i, g in ipairs(self.param_groups) do
    lines[#lines + 1] = "Parameter Group " .. (i - 1)
    local keys = {}
    for k in pairs(g) do if k ~= "params" then keys[#keys + 1] = k end end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local v = g[k]
      if type(v) == "table" then
        local parts = {}
        for j, x in ipairs(v) do parts[j] = Optimizer.fmt(x) end
        v = "(" .. table.concat(parts, ", ") .. ")"
      else
        v = Optimizer.fmt(v)
      end
      lines[#lines + 1] = "    " .. k .. ": " .. v
    end
  end
  lines[#lines + 1] = ")"
  return table.concat(lines, "\n")
end

-- add_param_group(group): group = {params = tensor or list of tensors, <options>}.
function Optimizer:add_param_group(group)
  if type(group) ~= "table" or is_tensor(group) then
    error(self.__name .. ": param group must be a table {params = ..., ...}", 2)
  end
  local g = copy_table(group)
  local ps = group.params
  if is_tensor(ps) then ps = { ps } end
  if type(ps) ~= "table" then error(self.__name .. ": param group has no 'params' list", 2) end
  g.params = {}
  for i, p in ipairs(ps) do
    if not is_tensor(p) then
      error(string.format("%s: optimizer can only optimize tensors, but parameter %d is a %s", self.__name, i, type(p)), 2)
    end
    if not p.is_leaf then error(self.__name .. ": can't optimize a non-leaf tensor", 2) end
    g.params[i] = p
  end
  for k, v in pairs(self.defaults) do
    if g[k] == nil then
      if v == Optimizer.required then
        error(self.__name .. ": parameter group didn't specify a value of required optimization parameter " .. k, 2)
      end
      g[k] = type(v) == "table" and { table.unpack(v) } or v
    end
  end
  local seen = {}
  for _, og in ipairs(self.param_groups) do for _, p in ipairs(og.params) do seen[p] = true end end
  for _, p in ipairs(g.params) do
    if seen[p] then error(self.__name .. ": some parameters appear in more than one parameter group", 2) end
    seen[p] = true
  end
  self.param_groups[#self.param_groups + 1] = g
end

-- zero_grad({set_to_none = false}): PyTorch 1.13's default keeps the grad tensors and zeroes
-- them (detached); set_to_none = true drops them (p.grad = nil).
-- The per-parameter loop is C (torch._optim.zero_grad).
function Optimizer:zero_grad(opts)
  local to_none = opts and opts.set_to_none or false
  for _, g in ipairs(self.param_groups) do torch._optim.zero_grad(g.params, to_none) end
end

-- step(closure?): closure() re-evaluates the model (with grad mode on) and returns the loss,
-- which step returns. The updates themselves record nothing (C writes the data directly).
function Optimizer:step(closure)
  local loss
  if closure ~= nil then
    local prev = torch.is_grad_enabled()
    torch.set_grad_enabled(true)
    local ok, r = pcall(closure)
    torch.set_grad_enabled(prev)
    if not ok then error(r, 0) end
    loss = r
  end
  for _, g in ipairs(self.param_groups) do self:_step_group(g) end
  return loss
end

-- Per-group scratch lists reused from step to step (new tables every step were a third of a
-- small model's step): _list(g, "exp_avgs", n) is group g's list of that name, cleared past n
-- (n nil: as it is).
local scratch = setmetatable({}, { __mode = "k" })
function Optimizer._list(g, name, n)
  local s = scratch[g]
  if not s then
    s = {}
    scratch[g] = s
  end
  local t = s[name]
  if not t then
    t = {}
    s[name] = t
  end
  if n then
    for i = #t, n + 1, -1 do t[i] = nil end
  end
  return t
end

-- Gathers the parameters of group g that have a grad: returns params, grads, their states
-- (created with init(p) the first time) and the count. The lists are reused by the next step.
local collect = torch._optim.collect
function Optimizer:_gather(g, init)
  local params, grads = Optimizer._list(g, "params"), Optimizer._list(g, "grads")
  local n = collect(g.params, params, grads)
  local states = Optimizer._list(g, "states", n)
  local state = self.state
  for i = 1, n do
    local p = params[i]
    local st = state[p]
    if st == nil then
      st = init(p, g)
      state[p] = st
    end
    states[i] = st
  end
  return params, grads, states, n
end

function Optimizer:_step_group() error(self.__name .. ": _step_group is not implemented", 2) end

-- state_dict(): {state = {[i] = state of parameter i}, param_groups = {{params = {i, ...},
-- <options>}}} with parameters numbered from 1 across groups in order. State tensors are
-- shared (like PyTorch); load_state_dict copies them.
function Optimizer:state_dict()
  local index, nxt = {}, 1
  local groups = {}
  for gi, g in ipairs(self.param_groups) do
    local packed = copy_table(g)
    packed.params = {}
    for j, p in ipairs(g.params) do
      if index[p] == nil then index[p] = nxt; nxt = nxt + 1 end
      packed.params[j] = index[p]
    end
    groups[gi] = packed
  end
  local state = {}
  for p, st in pairs(self.state) do
    local k = index[p]
    if k ~= nil then state[k] = copy_table(st) end
  end
  return { state = state, param_groups = groups }
end

-- load_state_dict(sd): checks that the groups match this optimizer's in number and sizes,
-- then installs copies of the saved states (tensors cast to their parameter's dtype) and
-- the saved hyperparameters, keeping this optimizer's parameter tensors.
function Optimizer:load_state_dict(sd)
  if type(sd) ~= "table" or type(sd.param_groups) ~= "table" or type(sd.state) ~= "table" then
    error(self.__name .. ": load_state_dict expects a table {state = ..., param_groups = ...}", 2)
  end
  local groups, saved = self.param_groups, sd.param_groups
  if #groups ~= #saved then
    error(string.format("%s: loaded state dict has a different number of parameter groups (%d, expected %d)",
      self.__name, #saved, #groups), 2)
  end
  for i, g in ipairs(groups) do
    if #g.params ~= #saved[i].params then
      error(string.format("%s: loaded state dict contains a parameter group that doesn't match the size of optimizer's group (group %d: %d parameters, expected %d)",
        self.__name, i, #saved[i].params, #g.params), 2)
    end
  end
  local state = {}
  for i, g in ipairs(groups) do
    for j, p in ipairs(g.params) do
      local st = sd.state[saved[i].params[j]]
      if st ~= nil then
        local new = {}
        for k, v in pairs(st) do
          if is_tensor(v) then
            v = v:clone()
            if v.dtype ~= p.dtype and (p.dtype == "float32" or p.dtype == "float64") then v = v:to(p.dtype) end
          elseif type(v) == "table" then
            v = { table.unpack(v) }
          end
          new[k] = v
        end
        state[p] = new
      end
    end
  end
  local new_groups = {}
  for i, g in ipairs(groups) do
    local ng = copy_table(saved[i])
    ng.params = g.params
    new_groups[i] = ng
  end
  self.state = state
  self.param_groups = new_groups
end

return Optimizer
