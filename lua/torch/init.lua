-- torch: the tensor module. The C half (torch._C, vm/l*.c) provides the tensor userdata and
-- every op; this file adds dtype constants and the parts written in Lua.
local C = require "torch._C"

local torch = {}
for k, v in pairs(C) do torch[k] = v end

-- dtype names are strings; the constants are the same strings (torch.float32 == "float32").
for _, name in ipairs { "float32", "float64", "int64", "int32", "uint8", "bool", "float16", "bfloat16" } do
  torch[name] = name
end
torch.float, torch.double, torch.long, torch.int, torch.half = "float32", "float64", "int64", "int32", "float16"

-- Printing in PyTorch's layout (lua/torch/print.lua): tostring(t), print(t), set_printoptions.
require("torch.print").install(torch)

-- Checkpoints (lua/torch/serialize.lua): torch.save(obj, path), torch.load(path, {map_location=}).
require("torch.serialize").install(torch)

-- torch._flat_values(t): the elements as one flat Lua list in row-major order (integers for
-- integer dtypes, booleans for bool). A helper for the specs, not part of the API.
function torch._flat_values(t) return t:reshape(-1):tolist() end

-- Autograd (lua/torch/autograd.lua): torch.autograd, no_grad, enable_grad, gradcheck.
require("torch.autograd").install(torch)

-- torch.distributed (lua/torch/distributed.lua; MPI backend in dist/, optional at build time).
require("torch.distributed")._install(torch)

return torch
