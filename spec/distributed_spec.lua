-- torch.distributed (MPI backend), nn.parallel.DistributedDataParallel, data.DistributedSampler.
-- Multi-process checks launch spec/dist/worker.lua under mpirun with 2 and 4 ranks on this
-- machine; they are skipped (pending) when mpirun or nnlua's MPI support is missing.
local H = dofile("spec/helpers.lua")

local have_mpirun = os.execute("command -v mpirun >/dev/null 2>&1")
local mpi_ok = have_mpirun and torch.distributed.is_mpi_available()

-- Runs the worker under mpirun; returns ok (exit status 0), output, wall seconds.
-- Under the sanitizer build, LeakSanitizer is off for the MPI ranks only: Open MPI keeps its
-- own allocations (MPI_Init, hwloc, PMIx) until exit and MPI_Abort exits without cleanup, so
-- every rank would "leak"; ASan and UBSan stay on.
local lsan_off = "ASAN_OPTIONS=" .. (os.getenv("ASAN_OPTIONS") or "") .. ":detect_leaks=0 "
local function launch(np, mode, timeout)
  local cmd = (lsan_off .. "mpirun --oversubscribe --allow-run-as-root -np %d %s spec/dist/worker.lua %s %s 2>&1")
    :format(np, H.BIN, mode, tostring(timeout or 10))
  local t0 = torch.time and torch.time() or os.time()
  local f = io.popen(cmd)
  local out = f:read("a")
  local ok = f:close()
  local t1 = torch.time and torch.time() or os.time()
  return ok, out, t1 - t0
end

describe("torch.distributed API without a process group", function()
  it("backend nccl needs a CUDA+MPI+NCCL build and a GPU, and says which is missing", function()
    local dist = torch.distributed
    if not dist.is_nccl_available() then
      assert.has_error(function() dist.init_process_group { backend = "nccl" } end,
        "init_process_group: backend 'nccl' needs a build of nnlua with CUDA, MPI and NCCL; this build has none (use backend=\"mpi\" for CPU tensors)")
    elseif not torch.cuda.is_available() then
      assert.has_error(function() dist.init_process_group { backend = "nccl" } end,
        "init_process_group: backend 'nccl' needs a GPU, but torch.cuda.is_available() is false")
    end
    assert.is_false(dist.is_initialized())
  end)
  it("unknown backends and uninitialised use are errors", function()
    assert.has_error(function() torch.distributed.init_process_group { backend = "tcp" } end,
      "init_process_group: unknown backend 'tcp' (expected \"mpi\" or \"nccl\")")
    assert.is_false(torch.distributed.is_initialized())
    local ok, err = pcall(torch.distributed.get_rank)
    assert.is_false(ok)
    assert.truthy(err:find("get_rank: default process group has not been initialized", 1, true))
    ok, err = pcall(torch.distributed.all_reduce, torch.zeros(2))
    assert.truthy(err:find("all_reduce: default process group has not been initialized", 1, true))
  end)
  it("ReduceOp constants", function()
    assert.equal("sum", torch.distributed.ReduceOp.SUM)
    assert.equal("avg", torch.distributed.ReduceOp.AVG)
    assert.equal("product", torch.distributed.ReduceOp.PRODUCT)
  end)
  it("says so clearly when built without MPI", function()
    if torch.distributed.is_mpi_available() then return end
    assert.has_error(function() torch.distributed.init_process_group { backend = "mpi" } end,
      "torch.distributed: nnlua was built without MPI support (install libopenmpi-dev and rebuild)")
  end)
end)

describe("data.DistributedSampler", function()
  local ds = data.TensorDataset(torch.arange(1, 11))
  local function idx(o) return data.DistributedSampler(ds, o):indices() end
  it("shards like PyTorch, padding by repeating the first indices", function()
    -- PyTorch: list(DistributedSampler(range(10), 4, r, shuffle=False)) (+1 for 1-based)
    assert.same({ 1, 5, 9 }, idx { num_replicas = 4, rank = 0, shuffle = false })
    assert.same({ 2, 6, 10 }, idx { num_replicas = 4, rank = 1, shuffle = false })
    assert.same({ 3, 7, 1 }, idx { num_replicas = 4, rank = 2, shuffle = false })
    assert.same({ 4, 8, 2 }, idx { num_replicas = 4, rank = 3, shuffle = false })
    assert.equal(3, #data.DistributedSampler(ds, { num_replicas = 4, rank = 3 }))
  end)
  it("drop_last drops the tail", function()
    assert.same({ 1, 5 }, idx { num_replicas = 4, rank = 0, shuffle = false, drop_last = true })
    assert.same({ 4, 8 }, idx { num_replicas = 4, rank = 3, shuffle = false, drop_last = true })
  end)
  it("shuffles the same way on every rank, differently per epoch", function()
    local seen = {}
    for r = 0, 1 do
      for _, i in ipairs(idx { num_replicas = 2, rank = r, seed = 5 }) do seen[#seen + 1] = i end
    end
    table.sort(seen)
    assert.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, seen)
    local s = data.DistributedSampler(ds, { num_replicas = 2, rank = 0, seed = 5 })
    local e0 = s:indices()
    s:set_epoch(1)
    assert.are_not.same(e0, s:indices())
  end)
  it("feeds a DataLoader through sampler=", function()
    local s = data.DistributedSampler(ds, { num_replicas = 4, rank = 2, shuffle = false })
    local loader = data.DataLoader(ds, { batch_size = 2, sampler = s })
    assert.equal(2, #loader)
    local got = {}
    for _, x in loader:iter() do for _, v in ipairs(x:tolist()) do got[#got + 1] = v end end
    assert.same({ 3, 7, 1 }, got)
    assert.has_error(function() data.DataLoader(ds, { sampler = s, shuffle = true }) end,
      "DataLoader: sampler option is mutually exclusive with shuffle")
  end)
  it("checks its arguments", function()
    assert.has_error(function() data.DistributedSampler(ds, { num_replicas = 2, rank = 2 }) end,
      "DistributedSampler: invalid rank 2, rank should be in the interval [0, 1]")
  end)
end)

local mdescribe = mpi_ok and describe or pending
mdescribe("torch.distributed under mpirun (MPI backend)", function()
  for _, np in ipairs { 2, 4 } do
    it("all_reduce, broadcast, all_gather, reduce on every dtype with " .. np .. " ranks", function()
      local ok, out = launch(np, "collectives")
      for r = 0, np - 1 do assert.truthy(out:find("rank " .. r .. ": ok collectives", 1, true), out) end
      assert.is_true(ok, out)
    end)
    it("DistributedDataParallel gradients = full-batch gradients, replicas identical (" .. np .. " ranks)", function()
      local ok, out = launch(np, "ddp")
      for r = 0, np - 1 do assert.truthy(out:find("rank " .. r .. ": ok ddp", 1, true), out) end
      assert.is_true(ok, out)
    end)
  end
  it("a rank that raises aborts the job at once, others do not hang", function()
    local ok, out, secs = launch(2, "raise", 5)
    assert.is_falsy(ok)
    assert.truthy(out:find("boom on rank 1", 1, true), out)
    assert.truthy(out:find("aborting the MPI job", 1, true), out)
    assert.truthy(secs < 5, "took " .. secs .. " s")
  end)
  it("a rank that never joins makes the others time out with a clear error", function()
    local ok, out, secs = launch(2, "timeout", 2)
    assert.is_falsy(ok)
    assert.truthy(out:find("all_reduce: timed out after 2 s waiting for other ranks (a rank may have died or called a different collective)", 1, true), out)
    assert.truthy(secs < 8, "took " .. secs .. " s")
  end)
  -- NCCL: one rank per GPU (NCCL refuses two ranks on one device), so as many ranks as GPUs.
  local ngpu = torch.cuda.is_available() and torch.cuda.device_count() or 0
  local ndescribe = (ngpu > 0 and torch.distributed.is_nccl_available()) and describe or pending
  ndescribe("NCCL backend #gpu", function()
    it("collectives and DDP on CUDA tensors with " .. math.min(ngpu, 4) .. " rank(s)", function()
      local np = math.min(ngpu, 4)
      local ok, out = launch(np, "nccl", 60)
      for r = 0, np - 1 do assert.truthy(out:find("rank " .. r .. ": ok nccl", 1, true), out) end
      assert.is_true(ok, out)
    end)
  end)
  it("scripts/train_fashion_mnist.lua --distributed: 2 ranks train as 1 rank with the same global batch", function()
    local runs = {}
    for _, np in ipairs { 1, 2 } do
      local dir = H.tmpdir()
      local cmd = (lsan_off .. "mpirun --oversubscribe --allow-run-as-root -np %d %s scripts/train_fashion_mnist.lua "
        .. "--distributed --limit 3200 --epochs 1 --threads 1 --no-progress --log-every 10 --out %s 2>&1")
        :format(np, H.BIN, H.q(dir))
      local f = io.popen(cmd)
      local out = f:read("a")
      local ok = f:close()
      assert.is_true(ok, out)
      assert.truthy(H.exists(dir .. "/checkpoint.safetensors"), out)
      H.rmdir(dir)
      local r = { losses = {}, out = out }
      for l in out:gmatch("%] loss: ([%d.]+)") do r.losses[#r.losses + 1] = tonumber(l) end
      r.acc = tonumber(out:match("Test accuracy: ([%d.]+) %%"))
      local _, finished = out:gsub("Finished Training", "")
      assert.are.equal(1, finished, out) -- rank 0 alone reports
      assert.truthy(out:find(("Distributed: %d ranks (mpi backend), %d samples per rank per step"):format(np, 64 // np), 1, true), out)
      runs[np] = r
    end
    -- the same 64 samples at every step: the runs differ by float rounding only
    assert.are.equal(5, #runs[1].losses)
    assert.are.equal(#runs[1].losses, #runs[2].losses)
    for k, l in ipairs(runs[1].losses) do
      assert.is_true(math.abs(l - runs[2].losses[k]) <= 0.002, ("log point %d: %g vs %g"):format(k, l, runs[2].losses[k]))
    end
    assert.is_true(math.abs(runs[1].acc - runs[2].acc) <= 1.0, runs[1].acc .. " vs " .. runs[2].acc)
  end)
  it("mismatched shapes and dtypes are errors on every rank", function()
    local ok, out = launch(2, "shapes")
    assert.is_true(ok, out)
    assert.truthy(out:find("rank 0: all_reduce: tensor shapes differ across ranks ([2, 3] on rank 0 vs numel 4..6 and ndim 1..2 across ranks)", 1, true), out)
    assert.truthy(out:find("rank 1: all_reduce: tensor shapes differ across ranks ([4] on rank 1", 1, true), out)
    assert.truthy(out:find("rank 1: broadcast: tensor dtypes differ across ranks (int64 on rank 1", 1, true), out)
  end)
end)
