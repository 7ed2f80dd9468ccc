-- optim_step.lua: optimizer step micro benchmark, nnlua side (twin: optim_step.py, which runs
-- this script and writes the RESULTS.md section). The parameter set of a 784-512-512-10 MLP
-- (float32, random grads); one Adam step and one SGD-momentum step over all of it.
-- Prints "name seconds_per_step" (median over rounds). Usage: nnlua optim_step.lua [rounds]
local rounds = tonumber(arg and arg[1]) or 7
torch.set_num_threads(1)
torch.manual_seed(0)

local shapes = { { 512, 784 }, { 512 }, { 512, 512 }, { 512 }, { 10, 512 }, { 10 } }
local function params()
  local ps = {}
  for i, s in ipairs(shapes) do
    local p = torch.randn(s) * 0.01
    p.requires_grad = true
    p.grad = torch.randn(s)
    ps[i] = p
  end
  return ps
end

local function bench(name, opt)
  opt:step() -- warm up: creates the state
  local n = 1
  while true do
    local t0 = torch.time()
    for _ = 1, n do opt:step() end
    if torch.time() - t0 > 0.05 then break end
    n = n * 2
  end
  local times = {}
  for r = 1, rounds do
    local t0 = torch.time()
    for _ = 1, n do opt:step() end
    times[r] = (torch.time() - t0) / n
  end
  table.sort(times)
  print(string.format("%s %.9g", name, times[(rounds + 1) // 2]))
end

bench("adam_mlp", optim.Adam(params(), { lr = 1e-3 }))
bench("sgd_momentum_mlp", optim.SGD(params(), { lr = 0.01, momentum = 0.9 }))
