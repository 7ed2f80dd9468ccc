-- nn.parallel: DistributedDataParallel (lua/nn/parallel/DistributedDataParallel.lua), loaded
-- on first use like the classes of nn.
local parallel = {}
setmetatable(parallel, {
  __index = function(self, k)
    if k == "DistributedDataParallel" then
      local v = require "nn.parallel.DistributedDataParallel"
      rawset(self, k, v)
      return v
    end
    error("nn.parallel has no class '" .. tostring(k) .. "'", 2)
  end,
})
return parallel
