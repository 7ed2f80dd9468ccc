-- fuzz_files.lua: a seeded mutation fuzzer for the file readers (issue 10).
--
--   build/nnlua spec/fuzz/fuzz_files.lua [--seed N] [--seconds S | --iterations N] [--dir D]
--                                         [--quiet]
--
-- Readers: torch.load of safetensors and .npy, data._C.read_idx (raw and gzipped IDX),
-- data._C.read_cifar (CIFAR-10 .bin) and data._C.png_read. The fuzzer writes valid files of each
-- kind first (random shapes and dtypes; checking that they load back exactly), then for the
-- budget: picks one, mutates it (bit flips, interesting bytes, truncation, junk appended, splices
-- of two files, duplicated/removed ranges, huge 4/8-byte length fields, numbers in the text
-- header replaced by huge/negative ones), writes it to the scratch folder --dir (default
-- spec/tmp/fuzz_files_<seed>) and runs the reader in-process under pcall. Each input must load
-- (then every element is read) or raise a non-empty string error; an unmutated input must load
-- equal to the original. A crash or sanitizer report is a bug; so is a call slower than 2 s
-- (a hang) or the peak RSS growing past 512 MB (an absurd allocation that was touched). Run
-- under ASan with allocator_may_return_null=0:max_allocation_size_mb=... so an absurd
-- allocation that is never touched aborts too. The current input is written to
-- <dir>/current.<ext> before it runs: after a crash that file reproduces it.

local opts = {seed = 1, seconds = nil, iterations = nil, dir = nil, quiet = false}
do
  local i = 1
  while arg and arg[i] do
    local a = arg[i]
    if a == "--seed" then opts.seed = math.tointeger(tonumber(arg[i + 1])); i = i + 2
    elseif a == "--seconds" then opts.seconds = tonumber(arg[i + 1]); i = i + 2
    elseif a == "--iterations" then opts.iterations = math.tointeger(tonumber(arg[i + 1])); i = i + 2
    elseif a == "--dir" then opts.dir = arg[i + 1]; i = i + 2
    elseif a == "--quiet" then opts.quiet = true; i = i + 1
    else error("fuzz_files: unknown argument " .. tostring(a)) end
  end
  if not opts.seconds and not opts.iterations then opts.iterations = 2000 end
end

math.randomseed(opts.seed)
torch.manual_seed(opts.seed)
local rnd = math.random
local function pick(t) return t[rnd(#t)] end
local function chance(p) return rnd() < p end
local C = require("data._C")
local dir = opts.dir or string.format("spec/tmp/fuzz_files_%d", opts.seed)
os.execute("mkdir -p " .. dir)

local function wfile(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end
local function rfile(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end
local function peak_kb()
  local f = io.open("/proc/self/status", "r")
  if not f then return 0 end
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmHWM:%s*(%d+)")) or 0
end

---------------------------------------------------------------------------------------------
-- Valid seeds.
local function rand_shape(maxn)
  local nd = rnd(0, 3)
  local s, n = {}, 1
  for i = 1, nd do
    local d = chance(0.08) and 0 or rnd(1, 4)
    if n * math.max(d, 1) > maxn then d = 1 end
    s[i] = d; n = n * math.max(d, 1)
  end
  return s
end
local DT = {"float32", "float64", "int64", "int32", "uint8", "bool"}
local function rand_tensor(dt)
  dt = dt or pick(DT)
  local s = rand_shape(64)
  local t = torch.randn(s):mul(5)
  if dt == "bool" then return t:gt(0) end
  return t:to(dt)
end

local function same(a, b)
  if torch.is_tensor(a) then
    return torch.is_tensor(b) and a.dtype == b.dtype and #a:size() == #b:size() and
      torch.equal(a, b)
  end
  if type(a) ~= "table" then return a == b end
  if type(b) ~= "table" then return false end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

-- Touches every element of whatever a reader returned (so ASan sees every byte read).
local function touch(v, depth)
  depth = depth or 0
  if depth > 50 then return end
  if torch.is_tensor(v) then
    if v:numel() > 0 then
      local f = v:to("float64")
      local _ = f:sum():item()
    end
    local _ = tostring(v.dtype) .. #v:size()
  elseif type(v) == "table" then
    for k, x in pairs(v) do touch(k, depth + 1); touch(x, depth + 1) end
  end
end

local seeds = {}     -- kind -> list of {bytes=, value=}
local KINDS = {"safetensors", "npy", "idx", "idxgz", "cifar", "png"}
local EXT = {safetensors = "safetensors", npy = "npy", idx = "idx", idxgz = "idx.gz",
             cifar = "bin", png = "png"}
local readers = {
  safetensors = function(p) return torch.load(p) end,
  npy = function(p) return torch.load(p) end,
  idx = function(p) return C.read_idx(p) end,
  idxgz = function(p) return C.read_idx(p) end,
  cifar = function(p) local a, b = C.read_cifar({p}); return {a, b} end,
  png = function(p) return C.png_read(p) end,
}

local function be32(v)
  return string.char((v >> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255)
end

local function make_seeds()
  for k in pairs(readers) do seeds[k] = {} end
  for i = 1, 4 do
    -- safetensors: nested tables of tensors, numbers, strings, booleans
    local obj = {w = rand_tensor(), b = rand_tensor(), step = rnd(1, 100), name = "s" .. i,
                 flag = chance(0.5), sub = {rand_tensor(), {x = rand_tensor()}}}
    if i == 1 then obj = rand_tensor() end
    local p = dir .. "/seed.safetensors"
    torch.save(obj, p)
    seeds.safetensors[#seeds.safetensors + 1] = {bytes = rfile(p), value = obj}
    -- npy
    local t = rand_tensor(pick({"float32", "float64", "int64", "int32", "uint8", "bool"}))
    p = dir .. "/seed.npy"
    torch.save(t, p)
    seeds.npy[#seeds.npy + 1] = {bytes = rfile(p), value = t}
    -- IDX of unsigned bytes, 1 to 4 dims
    local nd = rnd(1, 4)
    local shape, n = {}, 1
    for d = 1, nd do shape[d] = rnd(1, 4); n = n * shape[d] end
    local parts = {"\0\0\8", string.char(nd)}
    for d = 1, nd do parts[#parts + 1] = be32(shape[d]) end
    local data = {}
    for j = 1, n do data[j] = string.char(rnd(0, 255)) end
    parts[#parts + 1] = table.concat(data)
    local bytes = table.concat(parts)
    local want = torch.tensor({string.byte(table.concat(data), 1, -1)}, {dtype = "uint8"}):reshape(shape)
    seeds.idx[#seeds.idx + 1] = {bytes = bytes, value = want}
    p = dir .. "/seed.idx"
    wfile(p, bytes)
    os.execute(string.format("gzip -c -n %s > %s.gz", p, p))
    seeds.idxgz[#seeds.idxgz + 1] = {bytes = rfile(p .. ".gz"), value = want}
    -- CIFAR: 1 or 2 records
    local recs, labels = {}, {}
    for r = 1, rnd(1, 2) do
      local lab = rnd(0, 9)
      labels[r] = lab + 1
      local px = {}
      for j = 1, 3072 do px[j] = string.char((j * 7 + r * 13 + i) % 256) end
      recs[r] = string.char(lab) .. table.concat(px)
    end
    seeds.cifar[#seeds.cifar + 1] = {bytes = table.concat(recs), labels = labels}
    -- PNG (written by png_write; filter type 0 only)
    local h, w, c = rnd(1, 5), rnd(1, 5), pick({1, 3, 4})
    local img = torch.randint(0, 256, {h, w, c}):to("uint8")
    p = dir .. "/seed.png"
    C.png_write(p, img)
    seeds.png[#seeds.png + 1] = {bytes = rfile(p), value = img}
  end
  -- every seed loads back exactly
  for _, k in ipairs(KINDS) do
    for _, s in ipairs(seeds[k]) do
      local p = dir .. "/check." .. EXT[k]
      wfile(p, s.bytes)
      local v = readers[k](p)
      if k == "cifar" then
        assert(same(v[2], torch.tensor(s.labels)), "cifar seed labels")
      else
        assert(same(v, s.value), "fuzz_files: seed " .. k .. " does not load back")
      end
    end
  end
end

---------------------------------------------------------------------------------------------
-- Mutations on byte strings.
local INTERESTING8 = {0, 1, 0x7f, 0x80, 0xff, 0x20, 0x22, 0x2c, 0x5b, 0x7b, 0x30, 0x39, 0x2d}
local function le(v, n)
  local t = {}
  for i = 1, n do t[i] = string.char(v & 255); v = v >> 8 end
  return table.concat(t)
end
local BIG = {0xffffffff, 0x7fffffff, 0x80000000, 0x10000000, 0xfffffff0, 0, 1, 3073, 65536,
             0x7fffffffffffffff, -1, 0x4000000000000000, 1 << 40}
local NUMS = {"0", "-1", "1", "4294967295", "4294967296", "9223372036854775807",
              "9223372036854775808", "18446744073709551615", "99999999999999999999", "-9223372036854775808",
              "1e308", "1.5", "2147483648", "65536", "3", "", "00", "0x10", "1e999"}

local mutators = {
  function(s) -- flip 1..8 bits
    if #s == 0 then return s end
    local b = {string.byte(s, 1, -1)}
    for _ = 1, rnd(1, 8) do
      local i = rnd(#b)
      b[i] = b[i] ~ (1 << rnd(0, 7))
    end
    local parts = {}
    for i = 1, #b, 4096 do parts[#parts + 1] = string.char(table.unpack(b, i, math.min(#b, i + 4095))) end
    return table.concat(parts)
  end,
  function(s) -- an interesting byte at a random (often early) position
    if #s == 0 then return s end
    local i = chance(0.6) and rnd(math.min(#s, 128)) or rnd(#s)
    return s:sub(1, i - 1) .. string.char(pick(INTERESTING8)) .. s:sub(i + 1)
  end,
  function(s) return s:sub(1, rnd(0, #s)) end, -- truncate
  function(s) -- append junk
    local t = {}
    for i = 1, rnd(1, 64) do t[i] = string.char(rnd(0, 255)) end
    return s .. table.concat(t)
  end,
  function(s) -- huge 4- or 8-byte field (LE or BE) at a random (often early) offset
    local n = pick({4, 8})
    if #s < n then return s end
    local i = chance(0.7) and rnd(math.max(1, math.min(#s - n + 1, 64))) or rnd(#s - n + 1)
    local v = pick(BIG)
    local f = le(v, n)
    if chance(0.5) then f = f:reverse() end
    return s:sub(1, i - 1) .. f .. s:sub(i + n)
  end,
  function(s) -- remove a range
    if #s < 2 then return s end
    local i = rnd(#s); local j = math.min(#s, i + rnd(0, 32))
    return s:sub(1, i - 1) .. s:sub(j + 1)
  end,
  function(s) -- duplicate a range
    if #s < 2 then return s end
    local i = rnd(#s); local j = math.min(#s, i + rnd(0, 32))
    return s:sub(1, j) .. s:sub(i, j) .. s:sub(j + 1)
  end,
  function(s) -- numbers in a text header replaced (safetensors JSON, npy dict; harmless elsewhere)
    local n = 0
    local out = s:sub(1, 512):gsub("%-?%d+", function(d)
      if n < 3 and chance(0.3) then n = n + 1; return pick(NUMS) end
    end)
    return out .. s:sub(513)
  end,
  function(s) -- random header: keep the first 0..12 bytes, random bytes up to 64, rest of file
    local k = rnd(0, math.min(12, #s))
    local t = {}
    for i = 1, rnd(1, 64) do t[i] = string.char(rnd(0, 255)) end
    return s:sub(1, k) .. table.concat(t) .. s:sub(k + #t + 1)
  end,
  function(s) -- text tokens swapped in the header
    local toks = {'"dtype":"F32"', '"dtype":"I64"', '"dtype":"XX"', '"shape":[]', '"shape":[-1]',
                  '"data_offsets":[0,0]', '"data_offsets":[9,1]', "'descr': '<f8'", "'descr': '|O'",
                  "'fortran_order': True", "'shape': ()", "'shape': (4294967296, 4294967296)", "{", "}",
                  "[", "]", '"', ",", ":", "\\u0000", "\\", "null", "[[[[[[[[[[[[[[[[[[[[[[[["}
    local i = rnd(math.max(1, math.min(#s, 400)))
    return s:sub(1, i - 1) .. pick(toks) .. s:sub(i + (chance(0.5) and rnd(0, 12) or 0))
  end,
}

local function mutate(kind, s)
  for _ = 1, rnd(1, 3) do
    local r = rnd()
    if r < 0.1 then -- splice with another seed of the same kind
      local o = pick(seeds[kind]).bytes
      local i, j = rnd(0, #s), rnd(0, #o)
      s = s:sub(1, i) .. o:sub(j + 1)
    else
      s = pick(mutators)(s)
    end
  end
  return s
end

---------------------------------------------------------------------------------------------
make_seeds()
local stats = {execs = 0, ok = 0, err = 0}
local per = {}
for _, k in ipairs(KINDS) do per[k] = {ok = 0, err = 0} end
local bad = {}
-- --seconds is wall-clock time (the fuzzer writes a file per exec, and shares the machine)
local t0, w0 = os.clock(), (torch.time or os.clock)()
local function budget_ok()
  if opts.seconds then return (torch.time or os.clock)() - w0 < opts.seconds end
  return stats.execs < opts.iterations
end
local msgs = {}
local wall = torch.time or os.clock

while budget_ok() do
  stats.execs = stats.execs + 1
  local kind = KINDS[(stats.execs - 1) % #KINDS + 1]
  local seed = pick(seeds[kind])
  local bytes = chance(0.02) and seed.bytes or mutate(kind, seed.bytes)
  local path = dir .. "/current." .. EXT[kind]
  wfile(path, bytes)
  local c0 = wall()
  local ok, v = pcall(readers[kind], path)
  local dt = wall() - c0
  if dt > 2 then bad[#bad + 1] = string.format("exec %d (%s): %.1f s (hang?)", stats.execs, kind, dt) end
  if ok then
    per[kind].ok = per[kind].ok + 1
    stats.ok = stats.ok + 1
    local tok, terr = pcall(touch, v)
    if not tok then bad[#bad + 1] = string.format("exec %d (%s): loaded value broken: %s", stats.execs, kind, tostring(terr)) end
    if bytes == seed.bytes and kind ~= "cifar" and not same(v, seed.value) then
      bad[#bad + 1] = string.format("exec %d (%s): unmutated file loads differently", stats.execs, kind)
    end
  else
    per[kind].err = per[kind].err + 1
    stats.err = stats.err + 1
    if type(v) ~= "string" or v == "" then
      bad[#bad + 1] = string.format("exec %d (%s): error value %s (%s)", stats.execs, kind, tostring(v), type(v))
    elseif bytes == seed.bytes then
      bad[#bad + 1] = string.format("exec %d (%s): unmutated file fails: %s", stats.execs, kind, v)
    else
      local key = kind .. ": " .. v:gsub("^.-current%.[%w.]+:?", ""):gsub("%d+", "N"):sub(1, 90)
      msgs[key] = (msgs[key] or 0) + 1
    end
  end
  v = nil
  if stats.execs % 200 == 0 then
    collectgarbage("collect")
    local pk = peak_kb()
    if pk > 512 * 1024 then
      bad[#bad + 1] = string.format("exec %d: peak RSS %d kB (absurd allocation?)", stats.execs, pk)
      break
    end
  end
  if #bad > 20 then break end
end
os.remove(dir .. "/check.png")

print(string.format("fuzz_files: seed %d: %d execs (%d loaded, %d raised), %.1f s cpu, peak RSS %d kB",
  opts.seed, stats.execs, stats.ok, stats.err, os.clock() - t0, peak_kb()))
for _, k in ipairs(KINDS) do
  print(string.format("  %-12s %6d loaded %6d raised", k, per[k].ok, per[k].err))
end
if not opts.quiet then
  local keys = {}
  for k in pairs(msgs) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return msgs[a] > msgs[b] end)
  print("fuzz_files: most common errors:")
  for i = 1, math.min(#keys, 40) do print(string.format("  %6d  %s", msgs[keys[i]], keys[i])) end
end
for _, b in ipairs(bad) do print("BAD: " .. b) end
if #bad > 0 then os.exit(1) end
print("fuzz_files: OK")
