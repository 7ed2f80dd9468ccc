-- Flat memory: loops that make large temporaries and never call collectgarbage() must hold a
-- flat memory profile (vm/ltensor.c reports C tensor memory to the Lua GC: nl_lua_account),
-- and the CPU caching allocator (tensor/storage.c) must reuse blocks instead of growing.
local MB = 1024 * 1024

-- Resident set size of this process in bytes (Linux), or nil elsewhere.
local function rss()
  local f = io.open("/proc/self/status", "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  local kb = s:match("VmRSS:%s*(%d+)%s*kB")
  return kb and tonumber(kb) * 1024
end

describe("memory", function()
  it("memory_allocated_cpu counts bytes held by live tensors", function()
    collectgarbage()
    local before = torch.memory_allocated_cpu()
    local t = torch.zeros(1024, 256) -- 1 MB of float32
    assert.are.equal(before + MB, torch.memory_allocated_cpu())
    local u = torch.zeros(10, { dtype = "float64" })
    assert.are.equal(before + MB + 80, torch.memory_allocated_cpu())
    t, u = nil, nil
    collectgarbage()
    collectgarbage()
    assert.are.equal(before, torch.memory_allocated_cpu())
  end)

  -- NNLUA_CPU_CACHE_MB=0 (the sanitizer run) turns the cache off: nothing to check then
  local cache_on = os.getenv("NNLUA_CPU_CACHE_MB") ~= "0"
  ;(cache_on and it or pending)("freed blocks are parked in the cache and can be released", function()
    collectgarbage()
    torch._cpu_cache_release()
    local t = torch.zeros(1024 * 1024) -- 4 MB: exactly one power-of-two class
    t = nil
    collectgarbage()
    collectgarbage()
    assert.is_true(torch._cpu_cache_bytes() >= 4 * MB)
    local parked = torch._cpu_cache_bytes()
    local again = torch.zeros(1024 * 1024) -- reuses the parked block
    assert.are.equal(parked - 4 * MB, torch._cpu_cache_bytes())
    assert.are.equal(0.0, again:numel() > 0 and 0.0 or 1.0)
    again = nil
    collectgarbage()
    collectgarbage()
    assert.is_true(torch._cpu_cache_release() >= 4 * MB)
    assert.are.equal(0, torch._cpu_cache_bytes())
  end)

  it("a loop of 4 MB temporaries without collectgarbage() stays flat", function()
    collectgarbage()
    local function step(i)
      local a = torch.zeros(1024 * 1024)           -- 4 MB
      local b = torch.full({ 512, 1024 }, 1.5)     -- 2 MB
      local c = torch.ones(1024 * 1024 * 2, { dtype = "float64" }) -- 16 MB, every 8th iteration
      if i % 8 ~= 0 then c = nil end
      return a, b, c
    end
    for i = 1, 200 do step(i) end -- warm up: the cache and the GC pace settle
    local rss0, peak_live = rss(), 0
    for i = 1, 2000 do
      step(i)
      local live = torch.memory_allocated_cpu()
      if live > peak_live then peak_live = live end
    end
    local rss1 = rss()
    -- Without accounting, 2000 iterations leave ~14 GB of garbage; with it, live memory
    -- stays within a few collection cycles' worth of temporaries.
    assert.is_true(peak_live < 160 * MB, "peak live tensor memory " .. peak_live // MB .. " MB")
    if rss0 and rss1 then
      assert.is_true(rss1 - rss0 < 48 * MB,
        string.format("RSS grew from %d MB to %d MB", rss0 // MB, rss1 // MB))
    end
  end)

  it("many small temporaries do not pile up either", function()
    collectgarbage()
    local live0 = torch.memory_allocated_cpu()
    local peak = 0
    for _ = 1, 20000 do
      local t = torch.zeros(64, 64) -- 16 KB
      local live = torch.memory_allocated_cpu()
      if live > peak then peak = live end
    end
    assert.is_true(peak - live0 < 64 * MB, "peak live " .. (peak - live0) // MB .. " MB")
  end)
end)
