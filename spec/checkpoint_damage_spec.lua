-- torch.load on damaged files: every failure is a Lua error naming the file and the problem,
-- never a crash or a garbage tensor.
local H = dofile("spec/helpers.lua")
local readfile, writefile = H.readfile, H.writefile
local dir
local function tmp(name) return dir .. "/" .. name end

-- a safetensors file from a header (Lua string of JSON) and data bytes, padded like the reference
local function st(header, data)
  header = header .. string.rep(" ", (8 - #header % 8) % 8)
  return string.pack("<I8", #header) .. header .. (data or "")
end

local function load_err(bytes, name)
  local p = tmp(name or "d.safetensors")
  writefile(p, bytes)
  local ok, err = pcall(torch.load, p)
  assert.is_false(ok, "loaded a damaged file")
  assert.are.equal("string", type(err))
  return err:gsub("^.-:%d+: ", "")
end

local function expect_err(bytes, msg)
  assert.are.equal("torch.load: " .. tmp("d.safetensors") .. ": " .. msg, load_err(bytes))
end

setup(function() dir = H.tmpdir() end)
teardown(function() H.rmdir(dir) end)

describe("damaged checkpoints", function()
  local good
  setup(function()
    torch.save({ w = torch.tensor({ { 1.5, 2 }, { 3, 4 } }), b = torch.tensor({ 7, 8 }), step = 3 }, tmp("good.safetensors"))
    good = readfile(tmp("good.safetensors"))
  end)

  it("rejects every truncation of a small file", function()
    for n = 0, #good - 1 do
      local err = load_err(good:sub(1, n))
      assert.truthy(err:find("torch.load: ", 1, true), err)
    end
    assert.has_error(function() torch.load(tmp("nope.safetensors")) end,
      "torch.load: cannot open '" .. tmp("nope.safetensors") .. "': No such file or directory")
    expect_err(good:sub(1, 5), "file is too small to be a safetensors file (5 bytes, need at least 8)")
    local hn = string.unpack("<I8", good)
    expect_err(good:sub(1, 8 + hn + 20),
      "tensor 'w' data_offsets [16, 32] extend beyond the data (20 bytes): the file is truncated or damaged")
  end)

  it("rejects every single flipped bit in the header and data (checksums)", function()
    for i = 1, #good do
      local c = good:byte(i)
      for _, bit in ipairs({ 0x01, 0x40 }) do
        load_err(good:sub(1, i - 1) .. string.char(c ~ bit) .. good:sub(i + 1))
      end
    end
    local hn = string.unpack("<I8", good)
    local i = 8 + hn + 3 -- a byte of the first tensor ('b', int64)
    local err = load_err(good:sub(1, i - 1) .. string.char(good:byte(i) ~ 1) .. good:sub(i + 1))
    assert.matches("tensor 'b' checksum mismatch %(stored %x+, computed %x+%): the data is damaged$", err)
    i = 8 + 40 -- a header byte
    err = load_err(good:sub(1, i - 1) .. string.char(good:byte(i) ~ 1) .. good:sub(i + 1))
    assert.truthy(err:find("header", 1, true), err)
  end)

  it("rejects bad header lengths", function()
    expect_err(string.pack("<I8", 1 << 40) .. "{}", "header length 1099511627776 is larger than the 100 MB limit (damaged file?)")
    expect_err(string.pack("<I8", 64) .. "{}      ", "header length 64 extends beyond the end of the file (16 bytes): truncated or damaged")
    expect_err(string.pack("<I8", 0), "header length 0 is too small for a JSON header")
    expect_err(string.pack("<i8", -1) .. "{}", "header length 18446744073709551615 is larger than the 100 MB limit (damaged file?)")
  end)

  it("rejects malformed JSON", function()
    local cases = {
      ['{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}'] = "unterminated object",
      ['{"a":1,}'] = "trailing comma",
      ['{"a":01}'] = "leading zero in number",
      ["{'a':1}"] = "expected a string key",
      ['{"a":1}x'] = "trailing characters after the value",
      ['{"a":"\1"}'] = "control character in string",
      ['{"a":"\xff"}'] = "invalid UTF-8 in string",
      ['{"a":"\\ud800"}'] = "lone high surrogate",
      ['{"a":1,"a":2}'] = 'duplicate key "a"',
      ['{"a":tru}'] = "unexpected character",
      [string.rep("[", 100) .. string.rep("]", 100)] = "nesting deeper than 64",
    }
    for h, what in pairs(cases) do
      local err = load_err(st(h))
      assert.matches("header is not valid JSON %(malformed JSON at byte %d+: " .. what:gsub("%p", "%%%0") .. "%)$", err)
    end
    expect_err(st("[]"), "header is not a JSON object")
  end)

  it("rejects entries inconsistent with their bytes", function()
    local d8 = string.rep("\0", 8)
    expect_err(st('{"a":{"dtype":"F32","shape":[10,20],"data_offsets":[0,100]}}', string.rep("\0", 100)),
      "tensor 'a' data_offsets [0, 100] do not match shape [10, 20] float32 (800 bytes)")
    expect_err(st('{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}', d8),
      "tensor 'a' has dtype 'F33', which nnlua cannot load (known: F32 F64 I64 I32 U8 BOOL F16 BF16 I8 I16 U16 U32 U64)")
    expect_err(st('{"a":{"shape":[2],"data_offsets":[0,8]}}', d8), "tensor 'a' has no dtype")
    expect_err(st('{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', d8),
      "tensor 'a' has a bad shape (entry 1 is not a non-negative integer)")
    expect_err(st('{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}', d8),
      "tensor 'a' has a bad shape (entry 1 is not a non-negative integer)")
    expect_err(st('{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}', d8),
      "tensor 'a' has a shape whose size overflows")
    expect_err(st('{"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}}', d8),
      "tensor 'a' has 9 dims (nnlua supports at most 8)")
    expect_err(st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}', d8),
      "tensor 'a' has no valid data_offsets (expected [begin, end] with non-negative integers)")
    expect_err(st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}', d8),
      "tensor 'a' data_offsets [8, 0] end before they begin")
    expect_err(st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', d8),
      "gap in the data before tensor 'a' (bytes 0 to 8 belong to no tensor)")
    expect_err(st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', d8 .. "\0"),
      "1 bytes after the last tensor's data (the header accounts for 8 of 9 data bytes)")
    expect_err(st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[2],"data_offsets":[4,12]}}',
      d8 .. "\0\0\0\0"), "tensor 'b' data_offsets [4, 12] overlap tensor 'a' [0, 8]")
    expect_err(st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', "\0\0\0"),
      "tensor 'a' data_offsets [0, 8] extend beyond the data (3 bytes): the file is truncated or damaged")
    expect_err(st('{"__metadata__":{"x":1}}'), "__metadata__ value 'x' is not a string")
    expect_err(st('{"a":[1]}'), "tensor 'a' is not described by a JSON object")
    expect_err(st('{"__metadata__":{"nnlua.structure":"[]"}}'),
      "header checksum (nnlua.header_crc32) is missing or malformed: damaged header")
    -- a uint64 value that does not fit int64
    expect_err(st('{"a":{"dtype":"U64","shape":[1],"data_offsets":[0,8]}}', "\255\255\255\255\255\255\255\255"),
      "tensor 'a' (uint64) holds 18446744073709551615, which does not fit int64")
  end)

  it("loads an undamaged hand-made file (the checks are not too strict)", function()
    local p = tmp("ok.safetensors")
    writefile(p, st('{"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},' ..
      '"z":{"dtype":"BOOL","shape":[0],"data_offsets":[12,12]}}', string.pack("<d<i4", 2.5, -3)))
    local r = torch.load(p)
    assert.are.same({ 2.5 }, torch._flat_values(r.a))
    assert.are.same({ -3 }, torch._flat_values(r.b))
    assert.are.equal("int32", r.b.dtype)
    assert.are.equal(0, r.z:numel())
  end)

  it("rejects damaged .npy files", function()
    torch.save(torch.arange(6):reshape(2, 3), tmp("g.npy"))
    local g = readfile(tmp("g.npy"))
    for n = 0, #g - 1 do load_err(g:sub(1, n), "d.npy") end
    local p = tmp("d.npy")
    local function npy_err(bytes, msg)
      writefile(p, bytes)
      assert.has_error(function() torch.load(p) end, "torch.load: " .. p .. ": " .. msg)
    end
    npy_err("\x93NUMPZ\1\0\0\0", "not a .npy file (bad magic)")
    npy_err("\x93NUMPY\9\0\0\0", "unsupported .npy format version 9.0")
    npy_err("\x93NUMPY\1\0\255\255{}", "header length 65535 extends beyond the end of the file (12 bytes)")
    npy_err(g .. "x", "1 unexpected bytes after the data")
    npy_err(g:sub(1, -2), "file is truncated: 47 data bytes, shape needs 48")
    npy_err("\x93NUMPY\1\0\20\0{'descr': '<f4', }   ", "the .npy header lacks descr, fortran_order or shape")
  end)
end)
