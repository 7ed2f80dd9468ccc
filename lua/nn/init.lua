-- nn: modules, layers, losses, nn.functional, nn.init, nn.utils (shared/API.md "nn").
-- Classes load lazily by name: nn.Linear requires "nn.Linear" (lua/nn/Linear.lua) on first
-- use, so a new class file needs no edit here. Lower-case sub-modules map to their files.
local torch = require "torch"

local nn = {}

-- nn.Parameter(t, requires_grad=true): a leaf tensor sharing t's storage, marked as a
-- parameter so that assigning it to a module field registers it. Tensors are userdata, so
-- the mark lives in a weak-keyed set.
local param_set = setmetatable({}, { __mode = "k" })
nn._param_set = param_set

function nn.Parameter(t, requires_grad)
  if not torch.is_tensor(t) then error("Parameter: expected a tensor, got " .. type(t), 2) end
  if requires_grad == nil then requires_grad = true end
  local p = t:detach()
  p:requires_grad_(requires_grad and true or false)
  param_set[p] = true
  return p
end

function nn.is_parameter(t) return param_set[t] == true end

local submodules = { functional = "nn.functional", init = "nn.initializers", utils = "nn.utils" }

local function has_module(name)
  if package.preload[name] then return true end
  return package.searchpath(name, package.path) ~= nil
end

setmetatable(nn, {
  __index = function(self, k)
    if type(k) ~= "string" then return nil end
    local mod = submodules[k] or ("nn." .. k)
    if k:sub(1, 1) ~= "_" and has_module(mod) then
      local v = require(mod)
      rawset(self, k, v)
      return v
    end
    error("nn has no class '" .. k .. "'", 2)
  end,
})

package.loaded["nn"] = nn
return nn
