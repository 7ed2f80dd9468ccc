-- torch.save / torch.load: round trips of tensors and nested tables, files written by Python
-- (spec/fixtures/gen_ckpt.py), files read back by Python when it is installed, atomic writes.
local fx = dofile("spec/fixtures/ckpt.lua")
local FIX = "spec/fixtures/ckpt/"

local H = dofile("spec/helpers.lua")
local readfile, exists = H.readfile, H.exists
local dir
local function tmp(name) return dir .. "/" .. name end

local function same_values(a, b)
  assert.are.equal(#a, #b)
  for i = 1, #a do
    if a[i] ~= a[i] then assert.is_true(b[i] ~= b[i], "NaN expected at " .. i)
    else assert.are.equal(a[i], b[i]) end
  end
end

-- t has dtype, shape and flat values exactly as expected
local function check(t, dtype, shape, values)
  assert.are.equal(dtype, t.dtype)
  assert.are.same(shape, { table.unpack(t.shape) })
  same_values(values, torch._flat_values(t))
end

local function same_tensor(a, b)
  assert.are.equal(a.dtype, b.dtype)
  assert.are.same({ table.unpack(a.shape) }, { table.unpack(b.shape) })
  assert.are.equal(a.device, b.device)
  same_values(torch._flat_values(a), torch._flat_values(b))
end

setup(function() dir = H.tmpdir() end)
teardown(function()
  require("torch._C")._io_fault(nil)
  H.rmdir(dir)
end)

describe("torch.save / torch.load round trips", function()
  it("keeps every dtype, shape and value, including empty and 0-d tensors", function()
    local sd = {
      f32 = torch.tensor({ { 1.5, -2 }, { 0 / 0, math.huge } }),
      f64 = torch.tensor({ 1e-300, -2.5, 1 / 3 }, { dtype = "float64" }),
      i64 = torch.tensor({ math.maxinteger, math.mininteger, 0 }),
      i32 = torch.tensor({ -7, 2147483647 }, { dtype = "int32" }),
      u8 = torch.tensor({ 0, 255, 9 }, { dtype = "uint8" }),
      b = torch.tensor({ true, false, true }),
      empty = torch.zeros(0, 3),
      scalar = torch.tensor(4.25),
    }
    torch.save(sd, tmp("all.safetensors"))
    local r = torch.load(tmp("all.safetensors"))
    for k, t in pairs(sd) do same_tensor(t, r[k]) end
    local n = 0
    for _ in pairs(r) do n = n + 1 end
    assert.are.equal(8, n)
  end)

  it("saves views as the elements they cover (transposed, narrowed, expanded)", function()
    local base = torch.arange(12):reshape(3, 4):float()
    local v = { t = base:t(), n = base:narrow(2, 2, 2), e = torch.tensor({ 1, 2 }):reshape(2, 1):expand(2, 3) }
    torch.save(v, tmp("views.safetensors"))
    local r = torch.load(tmp("views.safetensors"))
    check(r.t, "float32", { 4, 3 }, { 0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11 })
    check(r.n, "float32", { 3, 2 }, { 1, 2, 5, 6, 9, 10 })
    check(r.e, "int64", { 2, 3 }, { 1, 1, 1, 2, 2, 2 })
    -- 2 x 4 + 3 x 2 x 4 + 6 x 8 bytes of data: only the covered elements
    local s = readfile(tmp("views.safetensors"))
    local n = string.unpack("<I8", s)
    assert.are.equal(48 + 24 + 48, #s - 8 - n)
    assert.are.equal(0, n % 8)
  end)

  it("rebuilds nested tables exactly: integer vs string keys, integers vs floats, strings, booleans", function()
    local w = torch.randn(3, 2)
    local state = {
      epoch = 3, lr = 0.1, whole_float = 2.0, name = "run\0\"1\"\n", raw = "\xff\xfe", done = false,
      big = math.maxinteger, tiny = -5e-324, inf = -math.huge, nan = 0 / 0,
      model = { ["layers.1.weight"] = w, ["layers.1.bias"] = torch.zeros(2) },
      opt = { state = { [1] = { step = 10, exp_avg = torch.ones(3, 2) } },
              param_groups = { { lr = 1e-3, betas = { 0.9, 0.999 }, params = { 1, 2 } } } },
      ["1"] = "string one", [1] = "integer one", [-2] = true,
      size = w.shape, empty = {},
    }
    torch.save(state, tmp("state.safetensors"))
    local r = torch.load(tmp("state.safetensors"))
    assert.are.equal(3, r.epoch); assert.are.equal("integer", math.type(r.epoch))
    assert.are.equal(2.0, r.whole_float); assert.are.equal("float", math.type(r.whole_float))
    assert.are.equal(0.1, r.lr)
    assert.are.equal("run\0\"1\"\n", r.name)
    assert.are.equal("\xff\xfe", r.raw)
    assert.are.equal(false, r.done)
    assert.are.equal(math.maxinteger, r.big)
    assert.are.equal(-5e-324, r.tiny)
    assert.are.equal(-math.huge, r.inf)
    assert.is_true(r.nan ~= r.nan)
    same_tensor(w, r.model["layers.1.weight"])
    assert.are.equal(10, r.opt.state[1].step)
    same_tensor(torch.ones(3, 2), r.opt.state[1].exp_avg)
    assert.are.same({ 0.9, 0.999 }, r.opt.param_groups[1].betas)
    assert.are.same({ 1, 2 }, r.opt.param_groups[1].params)
    assert.are.equal("string one", r["1"])
    assert.are.equal("integer one", r[1])
    assert.are.equal(true, r[-2])
    assert.are.equal("torch.Size([3, 2])", tostring(r.size))
    assert.are.same({}, r.empty)
  end)

  it("names tensors by their key path, so a state_dict reads as PyTorch expects", function()
    torch.save({ model = { fc = { weight = torch.zeros(2) } }, opt = { state = { [2] = { m = torch.ones(1) } } } },
      tmp("names.safetensors"))
    local s = readfile(tmp("names.safetensors"))
    assert.truthy(s:find('"model.fc.weight":{"dtype":"F32","shape":[2],"data_offsets":[', 1, true))
    assert.truthy(s:find('"opt.state.2.m":{', 1, true))
    assert.truthy(s:find('"format":"pt"', 1, true))
  end)

  it("saves and loads a single tensor", function()
    local t = torch.arange(6):reshape(2, 3)
    torch.save(t, tmp("one.safetensors"))
    same_tensor(t, torch.load(tmp("one.safetensors")))
    torch.save(t:t(), tmp("one.npy"))
    same_tensor(t:t():contiguous(), torch.load(tmp("one.npy")))
  end)

  it("writes identical bytes for identical objects (sorted keys)", function()
    local a = { z = torch.ones(2), a = { 3, 2, 1 }, m = { k = "v" }, [5] = 1.5, [2] = torch.zeros(1) }
    local b = { [2] = torch.zeros(1), m = { k = "v" }, [5] = 1.5, a = { 3, 2, 1 }, z = torch.ones(2) }
    torch.save(a, tmp("a.safetensors"))
    torch.save(b, tmp("b.safetensors"))
    assert.are.equal(readfile(tmp("a.safetensors")), readfile(tmp("b.safetensors")))
  end)

  it("accepts map_location", function()
    torch.save({ x = torch.ones(2) }, tmp("m.safetensors"))
    assert.are.equal("cpu", torch.load(tmp("m.safetensors"), { map_location = "cpu" }).x.device)
    assert.has_error(function() torch.load(tmp("m.safetensors"), { map_location = 3 }) end,
      "torch.load: map_location must be a device string such as 'cpu' or 'cuda' (got number)")
    if not torch.cuda.is_available() then
      assert.has_error(function() torch.load(tmp("m.safetensors"), { map_location = "cuda" }) end)
    end
  end)
end)

describe("torch.save errors", function()
  it("rejects values it cannot save, naming where they are", function()
    local cyc = { a = {} }
    cyc.a.b = cyc
    assert.has_error(function() torch.save(cyc, tmp("e.safetensors")) end,
      "torch.save: the table at 'a.b' contains itself (a cycle)")
    assert.has_error(function() torch.save({ f = print }, tmp("e.safetensors")) end,
      "torch.save: cannot save a function at 'f' (only tensors, tables, numbers, strings and booleans)")
    assert.has_error(function() torch.save({ [1.5] = 1 }, tmp("e.safetensors")) end,
      "torch.save: unsupported key 1.5 (float) at the top level (keys must be integers or strings)")
    assert.has_error(function() torch.save({ m = setmetatable({}, {}) }, tmp("e.safetensors")) end,
      "torch.save: cannot save the table with a metatable at 'm' (only plain tables, tensors, numbers, strings and booleans; save a module's state_dict())")
    assert.has_error(function() torch.save({ ["a.b"] = torch.ones(1), a = { b = torch.ones(1) } }, tmp("e.safetensors")) end,
      "torch.save: two tensors would both be named 'a.b' (rename one key)")
    assert.has_error(function() torch.save({ x = torch.ones(1) }, tmp("e.npy")) end,
      "torch.save: a .npy file holds one tensor (got table); use a .safetensors path for tables")
    assert.has_error(function() torch.save(torch.ones(1), 3) end,
      "torch.save: bad argument #2 (path string expected, got number)")
    assert.is_false(exists(tmp("e.safetensors")))
  end)

  it("reports a missing directory and an unwritable one with the OS error", function()
    assert.has_error(function() torch.save(torch.ones(1), dir .. "/missing/x.safetensors") end,
      "torch.save: cannot write '" .. dir .. "/missing/x.safetensors': No such file or directory")
    os.execute("mkdir '" .. tmp("ro") .. "' && chmod 555 '" .. tmp("ro") .. "'")
    local ok, err = pcall(torch.save, torch.ones(1), tmp("ro/x.safetensors"))
    if ok then -- root ignores folder permissions: use a file system that refuses writes instead
      ok, err = pcall(torch.save, torch.ones(1), "/sys/nnlua_x.safetensors")
      assert.is_false(ok)
      assert.matches("torch.save: cannot write '/sys/nnlua_x.safetensors': [%a ]+$", err)
    else
      assert.matches("torch.save: cannot write '" .. tmp("ro/x.safetensors"):gsub("%p", "%%%0") .. "': Permission denied$", err)
    end
  end)

  it("leaves the previous checkpoint intact when a write fails midway (atomic writes)", function()
    local p = tmp("atomic.safetensors")
    torch.save({ w = torch.ones(100), step = 1 }, p)
    local before = readfile(p)
    for _, after in ipairs({ 0, 5, 8, 100, 500, #before - 1 }) do
      require("torch._C")._io_fault(after)
      local ok, err = pcall(torch.save, { w = torch.zeros(100), step = 2 }, p)
      require("torch._C")._io_fault(nil)
      assert.is_false(ok)
      assert.matches("torch.save: cannot write '.*atomic.safetensors': No space left on device", err)
      assert.are.equal(before, readfile(p))
      local r = torch.load(p)
      assert.are.equal(1, r.step)
      same_tensor(torch.ones(100), r.w)
    end
    -- no temporary files are left behind
    local ls = io.popen("ls -a '" .. dir .. "'"):read("a")
    assert.is_nil(ls:find(".tmp.", 1, true))
    -- the same for .npy
    torch.save(torch.ones(3), tmp("atomic.npy"))
    require("torch._C")._io_fault(20)
    assert.has_error(function() torch.save(torch.zeros(3), tmp("atomic.npy")) end)
    require("torch._C")._io_fault(nil)
    same_tensor(torch.ones(3), torch.load(tmp("atomic.npy")))
  end)

  it("honours NNLUA_FAULT_WRITE_AFTER in a child process", function()
    local bin = H.BIN
    if not exists(bin) then return pending("interpreter path unknown") end
    local p = tmp("env.safetensors")
    torch.save({ a = torch.ones(4) }, p)
    local before = readfile(p)
    local cmd = string.format("NNLUA_FAULT_WRITE_AFTER=16 '%s' -e \"torch.save({a=torch.zeros(4)}, '%s')\" 2>&1", bin, p)
    local out = io.popen(cmd):read("a")
    assert.matches("No space left on device", out)
    assert.are.equal(before, readfile(p))
  end)
end)

describe("files written by Python", function()
  it("loads safetensors files as a flat name -> tensor table", function()
    for file, tensors in pairs(fx.safetensors) do
      local r = torch.load(FIX .. file)
      local n = 0
      for name, e in pairs(tensors) do
        n = n + 1
        check(r[name], e.dtype, e.shape, e.values)
      end
      local m = 0
      for _ in pairs(r) do m = m + 1 end
      assert.are.equal(n, m)
    end
  end)

  it("loads .npy files of every common dtype and layout", function()
    for file, e in pairs(fx.npy) do
      local ok, t = pcall(torch.load, FIX .. file)
      assert(ok, file .. ": " .. tostring(t))
      check(t, e.dtype, e.shape, e.values)
    end
  end)

  it("reports .npy dtypes it cannot represent clearly", function()
    for file, msg in pairs(fx.npy_errors) do
      assert.has_error(function() torch.load(FIX .. file) end, "torch.load: " .. FIX .. file .. ": " .. msg)
    end
  end)
end)

describe("files read by Python", function()
  local py = "/usr/bin/python3"
  local function have_numpy()
    local f = io.open(py, "rb")
    if not f then return false end
    f:close()
    return os.execute(py .. " -c 'import numpy' 2>/dev/null") == true
  end

  it("reads what nnlua writes (safetensors by hand, .npy through numpy.load)", function()
    if not have_numpy() then return pending("/usr/bin/python3 with numpy is not installed") end
    local sd = {
      ["fc.weight"] = torch.tensor({ { 1.5, -2 }, { 0.1, 3 } }):t(),
      ["fc.bias"] = torch.tensor({ 0.25, -0.5 }, { dtype = "float64" }),
      idx = torch.tensor({ math.maxinteger, -1 }),
      i32 = torch.tensor({ 5, -6 }, { dtype = "int32" }),
      u8 = torch.tensor({ 200 }, { dtype = "uint8" }),
      mask = torch.tensor({ true, false }),
      s = torch.tensor(7.5),
      e = torch.zeros(0, 2),
      nested = { x = torch.ones(2) }, epoch = 4,
    }
    local p = tmp("py.safetensors")
    torch.save(sd, p)
    local r = load(io.popen(py .. " spec/fixtures/read_ckpt.py '" .. p .. "'"):read("a"))()
    for _, k in ipairs({ "fc.weight", "fc.bias", "idx", "i32", "u8", "mask", "s", "e" }) do
      local t, e = sd[k], r.tensors[k]
      assert(e, k)
      assert.are.equal(t.dtype, e.dtype)
      assert.are.same({ table.unpack(t.shape) }, e.shape)
      same_values(torch._flat_values(t), e.values)
    end
    assert.are.same({ 2 }, r.tensors["nested.x"].shape)
    assert.are.equal("pt", r.metadata.format)
    for _, dt in ipairs({ "float32", "float64", "int64", "int32", "uint8", "bool" }) do
      local t = torch.tensor({ { 1, 0 }, { 1, 1 }, { 0, 1 } }):to(dt):t()
      torch.save(t, tmp("py.npy"))
      local n = load(io.popen(py .. " spec/fixtures/read_ckpt.py '" .. tmp("py.npy") .. "'"):read("a"))()
      local e = n.tensors.tensor
      assert.are.equal(dt, e.dtype)
      assert.are.same({ 2, 3 }, e.shape)
      same_values(torch._flat_values(t), e.values)
    end
  end)
end)
