-- Flat memory over long training-like loops with no collectgarbage() (issue 10): the peak RSS
-- (VmHWM) after a warm-up must not grow by the end, for (1) an SGD training loop with 4 MB of
-- temporaries per step, (2) the same loop saving a checkpoint every step, (3) autograd graphs
-- built on 4 MB tensors and dropped without backward. The figures go to
-- spec/tmp/memory_training.txt (and stderr with NNLUA_MEMORY_REPORT=1).
local MB = 1024 * 1024

local function status()
  local f = io.open("/proc/self/status", "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  local hwm, rss = s:match("VmHWM:%s*(%d+)"), s:match("VmRSS:%s*(%d+)")
  return tonumber(hwm) * 1024, tonumber(rss) * 1024
end

local report = {}
local function record(name, hwm0, hwm1, rss_max)
  local line = string.format("%-28s peak RSS after warm-up %6.1f MB, at end %6.1f MB, max RSS %6.1f MB",
                             name, hwm0 / MB, hwm1 / MB, rss_max / MB)
  report[#report + 1] = line
  if os.getenv("NNLUA_MEMORY_REPORT") == "1" then io.stderr:write(line, "\n") end
  os.execute("mkdir -p spec/tmp")
  local f = io.open("spec/tmp/memory_training.txt", "w")
  if f then f:write(table.concat(report, "\n"), "\n"); f:close() end
end

-- Runs step(i) warm times, then n times, and asserts the peak RSS stayed within slack.
local function flat(name, warm, n, slack, step)
  if not status() then return pending("no /proc/self/status") end
  collectgarbage(); collectgarbage()
  for i = 1, warm do step(i) end
  local hwm0 = status()
  local rss_max = 0
  for i = warm + 1, warm + n do
    step(i)
    if i % 50 == 0 then
      local _, rss = status()
      if rss > rss_max then rss_max = rss end
    end
  end
  local hwm1 = status()
  record(name, hwm0, hwm1, rss_max)
  assert.is_true(hwm1 - hwm0 <= slack, string.format("%s: peak RSS grew from %.1f MB to %.1f MB",
    name, hwm0 / MB, hwm1 / MB))
end

local function mlp()
  torch.manual_seed(0)
  local model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))
  local opt = optim.SGD(model:parameters(), {lr = 0.01, momentum = 0.9})
  local x, y = torch.randn(64, 32), torch.randint(1, 11, {64})
  local loss_fn = nn.CrossEntropyLoss()
  return model, opt, function()
    local noise = torch.zeros(1024 * 1024) -- 4 MB temporary per step (an augmentation buffer)
    noise:add_(1)
    opt:zero_grad()
    local loss = loss_fn(model(x), y)
    loss:backward()
    opt:step()
    return loss
  end
end

describe("flat memory in long loops", function()
  it("an SGD training loop with 4 MB temporaries per step", function()
    local _, _, train_step = mlp()
    local first = train_step():item()
    flat("training (2000 steps)", 200, 2000, 24 * MB, train_step)
    assert.is_true(train_step():item() < first) -- it did train
  end)

  it("a training loop that saves a checkpoint every step", function()
    local model, opt, train_step = mlp()
    local path = os.tmpname()
    local last
    flat("training + torch.save (500)", 100, 500, 24 * MB, function(i)
      train_step()
      last = {model = model:state_dict(), optim = opt:state_dict(), step = i}
      torch.save(last, path)
    end)
    local back = torch.load(path)
    assert.equal(last.step, back.step)
    assert.is_true(torch.equal(last.model["1.weight"], back.model["1.weight"]))
    os.remove(path)
  end)

  it("autograd graphs built and dropped without backward", function()
    local w = torch.randn(1024 * 1024, {requires_grad = true}) -- 4 MB leaf
    flat("graphs without backward (800)", 100, 800, 24 * MB, function()
      local h = (w * 2):mul(w):add(w) -- saves 4 MB tensors in the graph
      local s = h:sum()
      assert(s.requires_grad)
    end)
    assert.is_nil(w.grad)
  end)
end)
