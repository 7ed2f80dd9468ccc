-- cuda_spec: the CUDA backend. The `gpu`-tagged block needs a GPU (scripts/run_tests.sh
-- excludes the tag when torch.cuda.is_available() is false; scripts/gpu/run.sh runs it).
-- The untagged block checks what a CUDA-less machine sees: clean errors, never a crash.

local has_gpu = torch.cuda.is_available()

describe("cuda without a GPU", function()
  it("reports no device and gives clear errors", function()
    if has_gpu then return end
    assert.is_false(torch.cuda.is_available())
    assert.are.equal(0, torch.cuda.device_count())
    assert.are.equal(0, torch.cuda.memory_allocated())
    assert.are.equal(0, torch.cuda.max_memory_allocated())
    torch.cuda.synchronize() -- nothing to wait for
    torch.cuda.empty_cache()
    local ok, err = pcall(function() return torch.zeros(2):cuda() end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("CUDA", 1, true))
    ok, err = pcall(torch.cuda.get_device_name)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("not available", 1, true) or tostring(err):find("without CUDA", 1, true))
  end)

  it("has the tf32 switch, off by default", function()
    assert.is_false(torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = true
    assert.is_true(torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = false
    assert.has_error(function() torch.backends.cuda.matmul.allow_tf32 = 1 end)
  end)
end)

-- Without a GPU (busted run by hand, without --exclude-tags=gpu) the block is one pending test.
local describe_gpu = torch.cuda.is_available() and describe or function(name, _)
  describe(name, function() it("needs a GPU", function() pending("no GPU: torch.cuda.is_available() is false") end) end)
end

describe_gpu("cuda #gpu", function()
  local function close(a, b, tol)
    a, b = a:cpu():double(), b:cpu():double()
    assert.are.same(a.shape, b.shape)
    assert.is_true(torch.allclose(a, b, {rtol = tol or 1e-6, atol = tol or 1e-6}),
      "max diff " .. tostring((a - b):abs():max():item()))
  end

  it("moves tensors both ways, with casts and non-contiguous sources", function()
    local x = torch.arange(0, 12):double():view(3, 4)
    local g = x:cuda()
    assert.are.equal("cuda:0", tostring(g.device))
    close(g, x, 0)
    close(x:t():cuda(), x:t(), 0)
    close(g:t():cpu(), x:t(), 0)
    close(g:float():cpu(), x:float(), 0)
    close(g:half():float(), x:float(), 0)
    close(g:to(torch.bfloat16):float(), x:float(), 0)
    assert.are.same(x:tolist(), g:tolist())
    assert.are.equal(5, g[2][2]:item())
  end)

  it("set_default_device('cuda') puts created tensors and new modules' parameters on the GPU", function()
    local before = torch.get_default_device()
    torch.set_default_device("cuda")
    local ok, err = pcall(function()
      for _, t in ipairs { torch.zeros(2, 3), torch.ones(2), torch.full({ 2 }, 7), torch.empty(3),
                           torch.tensor({ 1, 2 }), torch.arange(4), torch.linspace(0, 1, 5), torch.eye(2),
                           torch.rand(3), torch.randn(3), torch.randint(0, 5, { 3 }), torch.randperm(4) } do
        assert.are.equal("cuda:0", t.device)
      end
      assert.are.equal("cpu", torch.zeros(2, { device = "cpu" }).device)
      local cpu = torch.zeros(2, { device = "cpu" })
      assert.are.equal("cpu", torch.zeros_like(cpu).device) -- *_like follows its argument
      local lin = nn.Linear(3, 2)
      assert.are.equal("cuda:0", lin.weight.device)
      close(lin(torch.ones(4, 3)), lin.weight:sum(2):view(1, 2):expand(4, 2) + lin.bias, 1e-5)
    end)
    torch.set_default_device(before)
    assert(ok, err)
  end)

  it("counts memory and frees into the cache", function()
    torch.cuda.synchronize()
    local before = torch.cuda.memory_allocated()
    local t = torch.zeros(1024, 1024, {device = "cuda"})
    assert.is_true(torch.cuda.memory_allocated() >= before + 4 * 1024 * 1024)
    assert.is_true(torch.cuda.max_memory_allocated() >= torch.cuda.memory_allocated())
    t = nil
    collectgarbage()
    collectgarbage()
    assert.are.equal(before, torch.cuda.memory_allocated())
    torch.cuda.empty_cache()
  end)

  it("raises a Lua error on out of memory", function()
    local ok, err = pcall(function() return torch.empty(1 << 45, {device = "cuda"}) end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("out of memory", 1, true))
    local t = torch.ones(10, {device = "cuda"}) -- still usable
    assert.are.equal(10, t:sum():item())
  end)

  it("names both devices on a mixed-device op", function()
    local a, b = torch.ones(2), torch.ones(2):cuda()
    local ok, err = pcall(function() return a + b end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("cpu", 1, true) and tostring(err):find("cuda:0", 1, true))
  end)

  it("reduces deterministically", function()
    torch.manual_seed(1)
    local x = torch.randn(1000003):cuda()
    local s1, s2 = x:sum():item(), x:sum():item()
    assert.are.equal(s1, s2)
    close(x:sum(), x:cpu():double():sum(), 1e-3)
  end)

  it("draws the same random numbers as the CPU", function()
    torch.manual_seed(7)
    local c = torch.rand(1000)
    torch.manual_seed(7)
    local g = torch.rand(1000, {device = "cuda"})
    close(g, c, 0)
    torch.manual_seed(7)
    local ci = torch.randint(0, 100, {500})
    torch.manual_seed(7)
    local gi = torch.randint(0, 100, {500}, {device = "cuda"})
    assert.is_true(torch.equal(gi:cpu(), ci))
    torch.manual_seed(3)
    local cn = torch.randn(1000, {dtype = torch.float64})
    torch.manual_seed(3)
    local gn = torch.randn(1000, {dtype = torch.float64, device = "cuda"})
    close(gn, cn, 1e-12)
  end)

  it("multiplies matrices with cuBLAS (TF32 off by default)", function()
    torch.manual_seed(0)
    local a, b = torch.randn(33, 17), torch.randn(17, 9)
    close(a:cuda():matmul(b:cuda()), a:matmul(b), 1e-5)
    close(a:cuda():t():t():matmul(b:cuda():t():contiguous():t()), a:matmul(b), 1e-5)
    local ba, bb = torch.randn(4, 5, 6):double(), torch.randn(6, 3):double()
    close(ba:cuda():matmul(bb:cuda()), ba:matmul(bb), 1e-12)
    close(a:cuda():half():matmul(b:cuda():half()):float(), a:matmul(b), 5e-2)
  end)

  it("runs nn on CUDA and names both devices when they are mixed", function()
    local y = nn.functional.conv2d(torch.ones(1, 1, 3, 3):cuda(), torch.ones(1, 1, 2, 2):cuda())
    assert.is_true(torch.equal(y:cpu(), torch.ones(1, 1, 2, 2) * 4))
    local ok, err = pcall(nn.functional.conv2d, torch.ones(1, 1, 3, 3):cuda(), torch.ones(1, 1, 2, 2))
    assert.is_false(ok)
    assert.truthy(tostring(err):find("cuda:0", 1, true) and tostring(err):find("cpu", 1, true), tostring(err))
    ok, err = pcall(nn.functional.batch_norm, torch.ones(2, 3):cuda(), torch.zeros(3), torch.ones(3), {training = true})
    assert.is_false(ok)
    assert.truthy(tostring(err):find("same device", 1, true), tostring(err))
  end)
end)
