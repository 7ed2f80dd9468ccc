-- autograd per-op overhead: a chain of 1,000 small ops (4-element float32 tensors), forward +
-- backward; prints the median time per op over several rounds (compare autograd_chain.py).
local rounds = tonumber(arg and arg[1]) or 7
torch.set_num_threads(1)
local N = 1000
local x = torch.rand(4, { requires_grad = true })
local function once()
  local y = x
  for i = 1, N do
    if i % 2 == 0 then y = y * 1.0001 else y = y + 0.001 end
  end
  y:sum():backward()
  x.grad = nil
end
once()
local ts = {}
for r = 1, rounds do
  local t0 = os.clock()
  once()
  ts[r] = os.clock() - t0
end
table.sort(ts)
print(("autograd_chain nnlua: %.3f us/op (median of %d rounds, %d ops forward+backward)"):format(ts[(rounds + 1) // 2] / N * 1e6, rounds, N))
