-- At one thread nnlua never enters an OpenMP region (NL_OMP_FOR_IF / NL_OMP_REGION_IF,
-- tensor/nl_iter.h): libgomp ends every region, even a team of one, with a futex wake system
-- call (~1-3 us on a paravirtualised VM; LeNet at batch 4 made 13 per step). Counted with
-- strace (scripts/setup.sh installs it): the futex calls of a LeNet training run do not grow
-- with the number of steps.
local H = dofile("spec/helpers.lua")

local function futex_calls(steps)
  local script = os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(([[
torch.set_num_threads(1)
torch.manual_seed(0)
local net = dofile("scripts/models/lenet.lua").CifarNet()
local crit = nn.CrossEntropyLoss()
local opt = optim.SGD(net:parameters(), { lr = 0.001, momentum = 0.9 })
local x, y = torch.randn(4, 3, 32, 32), torch.randint(1, 11, { 4 })
for _ = 1, %d do
  opt:zero_grad()
  crit(net(x), y):backward()
  opt:step()
end
local xb = torch.randn(256, 256)
for _ = 1, %d do local _ = (xb + 1):sum(1) end -- past the elementwise/reduction grain
]]):format(steps, steps))
  f:close()
  local log = os.tmpname()
  -- (LeakSanitizer cannot run under ptrace: off for this child in the ASan build)
  local cmd = string.format("ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=futex -o %s %s %s", H.q(log), H.q(H.BIN), H.q(script))
  local ok = os.execute(cmd)
  os.remove(script)
  assert(ok, "strace failed: " .. cmd)
  local n = 0
  for line in io.lines(log) do if line:find("futex(", 1, true) then n = n + 1 end end
  os.remove(log)
  return n
end

describe("one thread", function()
  it("makes no futex system call per training step (no OpenMP team of one)", function()
    assert.is_truthy(os.execute("command -v strace >/dev/null"), "strace is missing: run scripts/setup.sh")
    local few, many = futex_calls(5), futex_calls(45)
    -- 40 more steps: before, 13 calls per step (520); now none, but other threads (OpenBLAS's
    -- pool starting and stopping) make a few that vary from run to run
    assert(many - few < 20, string.format("futex calls: %d for 5 steps, %d for 45", few, many))
  end)
end)
