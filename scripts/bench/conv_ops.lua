-- conv2d forward+backward micro-benchmark (torch._nn kernels); compare with conv_ops.py.
-- Usage: build/nnlua scripts/bench/conv_ops.lua (fastest of 7 rounds per case; twin: conv_ops.py)
local N = torch._nn
local cases = {
  { "3->6 5x5 on 4x3x32x32", { 4, 3, 32, 32 }, { 6, 3, 5, 5 }, 0, 50 },
  { "3->6 5x5 on 128x3x32x32", { 128, 3, 32, 32 }, { 6, 3, 5, 5 }, 0, 5 },
  { "64->64 3x3 on 16x64x32x32", { 16, 64, 32, 32 }, { 64, 64, 3, 3 }, 1, 3 },
}
for _, c in ipairs(cases) do
  local x, w, b = torch.randn(c[2]), torch.randn(c[3]), torch.randn(c[3][1])
  local y = N.conv2d(x, w, b, 1, c[4])
  local gy = torch.ones(y.shape)
  N.conv2d_backward(gy, x, w, 1, c[4]) -- warm up
  local best = math.huge -- the fastest of 7 rounds (this machine is shared: the slow ones are other jobs)
  for _ = 1, 7 do
    local t0 = torch.time()
    for _ = 1, c[5] do
      N.conv2d(x, w, b, 1, c[4])
      N.conv2d_backward(gy, x, w, 1, c[4])
    end
    best = math.min(best, (torch.time() - t0) / c[5])
  end
  print(string.format("%-28s %10.3f ms", c[1], best * 1e3))
end
