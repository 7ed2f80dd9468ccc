-- torch.serialize: torch.save(obj, path) and torch.load(path, {map_location=}).
--
-- The C half (vm/lt_io.c, tensor/io_*.c) reads and writes safetensors and .npy files and owns
-- their integrity (sizes, offsets, CRC32 checksums, atomic writes). This file maps a Lua value
-- onto them: the tensors of a (nested) table are stored under the path of their keys joined
-- with "." ({layers={[1]={weight=t}}} -> "layers.1.weight", so a plain state_dict is what
-- Python's safetensors expects), and the table structure lives in the header metadata
-- "nnlua.structure" as JSON, one array per Lua value:
--   ["T", name, device, dtype]   a tensor            ["i", 3]        an integer
--   ["f", "0.10000000000000001"] a float (%.17g, "inf", "-inf", "nan")
--   ["s", "text"] a UTF-8 string   ["x", "ff00"] any other string (hex)   ["B", true] a boolean
--   ["S", [2, 3]] a torch.Size     ["t", key1, node1, key2, node2, ...] a table (keys are JSON
--   integers or strings, integers first ascending, then strings sorted: files are reproducible)
local C = require "torch._C"

local M = {}

local MAXDEPTH = 50 -- Lua nesting; the strict JSON parser allows 64 levels

local function fail(msg) error(msg, 0) end

local function is_tensor(x) return type(x) == "userdata" and getmetatable(x) == C._metatable end

local function jstr(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function is_utf8(s) return utf8.len(s) ~= nil end

local function showpath(path) return path == "" and "the top level" or ("'" .. path .. "'") end

-- keys of t: integers ascending, then strings sorted; anything else is an error
local function sorted_keys(t, path)
  local ints, strs = {}, {}
  for k in next, t do
    local tk = math.type(k)
    if tk == "integer" then ints[#ints + 1] = k
    elseif type(k) == "string" then
      if not is_utf8(k) then fail(string.format("torch.save: key at %s is not valid UTF-8", showpath(path))) end
      strs[#strs + 1] = k
    else
      fail(string.format("torch.save: unsupported key %s (%s) at %s (keys must be integers or strings)",
        tostring(k), math.type(k) or type(k), showpath(path)))
    end
  end
  table.sort(ints)
  table.sort(strs)
  for _, s in ipairs(strs) do ints[#ints + 1] = s end
  return ints
end

local function fmt_float(x)
  if x ~= x then return "nan" elseif x == math.huge then return "inf" elseif x == -math.huge then return "-inf" end
  return string.format("%.17g", x)
end

-- Walks obj; appends tensors to names/tensors; returns the JSON text of the structure.
local function encode(obj, path, st, depth)
  local ty = type(obj)
  if is_tensor(obj) then
    local name = path == "" and "tensor" or path
    if st.used[name] then fail(string.format("torch.save: two tensors would both be named '%s' (rename one key)", name)) end
    st.used[name] = true
    st.names[#st.names + 1] = name
    st.tensors[#st.tensors + 1] = obj
    return string.format('["T",%s,%s,%s]', jstr(name), jstr(obj.device), jstr(obj.dtype))
  elseif math.type(obj) == "integer" then
    return string.format('["i",%d]', obj)
  elseif ty == "number" then
    return string.format('["f","%s"]', fmt_float(obj))
  elseif ty == "string" then
    if is_utf8(obj) then return '["s",' .. jstr(obj) .. "]" end
    return '["x","' .. obj:gsub(".", function(c) return string.format("%02x", c:byte()) end) .. '"]'
  elseif ty == "boolean" then
    return obj and '["B",true]' or '["B",false]'
  elseif ty == "table" then
    local mt = getmetatable(obj)
    if mt ~= nil and mt == C._size_metatable then
      local dims = {}
      for i = 1, #obj do dims[i] = string.format("%d", obj[i]) end
      return '["S",[' .. table.concat(dims, ",") .. "]]"
    end
    if mt ~= nil then
      fail(string.format("torch.save: cannot save the table with a metatable at %s (only plain tables, tensors, " ..
        "numbers, strings and booleans; save a module's state_dict())", showpath(path)))
    end
    if st.visiting[obj] then fail(string.format("torch.save: the table at %s contains itself (a cycle)", showpath(path))) end
    if depth >= MAXDEPTH then fail(string.format("torch.save: tables nested deeper than %d at %s", MAXDEPTH, showpath(path))) end
    st.visiting[obj] = true
    local parts = { '["t"' }
    for _, k in ipairs(sorted_keys(obj, path)) do
      local ks = math.type(k) == "integer" and string.format("%d", k) or k
      local sub = path == "" and ks or (path .. "." .. ks)
      parts[#parts + 1] = math.type(k) == "integer" and ks or jstr(k)
      parts[#parts + 1] = encode(obj[k], sub, st, depth + 1)
    end
    st.visiting[obj] = nil
    return table.concat(parts, ",") .. "]"
  end
  fail(string.format("torch.save: cannot save a %s at %s (only tensors, tables, numbers, strings and booleans)",
    ty, showpath(path)))
end

function M.save(obj, path)
  if type(path) ~= "string" then fail("torch.save: bad argument #2 (path string expected, got " .. type(path) .. ")") end
  if path:sub(-4) == ".npy" then
    if not is_tensor(obj) then
      fail("torch.save: a .npy file holds one tensor (got " .. type(obj) .. "); use a .safetensors path for tables")
    end
    return C._save_npy(path, obj)
  end
  local st = { names = {}, tensors = {}, used = {}, visiting = {} }
  local structure = encode(obj, "", st, 0)
  C._save_safetensors(path, st.names, st.tensors, { ["nnlua.structure"] = structure, ["nnlua.version"] = "1" })
end

-- ---- load -------------------------------------------------------------------------------------
local function move(t, device, dtype)
  if device and device ~= t.device then t = t:to(device) end
  if dtype and dtype ~= t.dtype and t.device ~= "cpu" then t = t:to(dtype) end -- float16 on CUDA
  return t
end

local function decode(node, ctx, depth)
  local function bad(what) fail(string.format("torch.load: %s: bad nnlua.structure (%s)", ctx.path, what)) end
  if type(node) ~= "table" or type(node[1]) ~= "string" then bad("a node is not a tagged array") end
  if depth > MAXDEPTH + 1 then bad("nested too deep") end
  local tag, v = node[1], node[2]
  if tag == "T" then
    if type(v) ~= "string" or type(node[3]) ~= "string" or type(node[4]) ~= "string" then bad("tensor node") end
    local t = ctx.byname[v]
    if not t then bad("refers to tensor '" .. v .. "', which is not in the file") end
    ctx.seen[v] = true
    return move(t, ctx.map_location or node[3], node[4])
  elseif tag == "i" then
    if math.type(v) ~= "integer" then bad("integer node") end
    return v
  elseif tag == "f" then
    if v == "nan" then return 0 / 0 elseif v == "inf" then return math.huge elseif v == "-inf" then return -math.huge end
    local x = type(v) == "string" and tonumber(v)
    if not x then bad("float node") end
    return x + 0.0
  elseif tag == "s" then
    if type(v) ~= "string" then bad("string node") end
    return v
  elseif tag == "x" then
    if type(v) ~= "string" or #v % 2 ~= 0 or v:find("[^0-9a-f]") then bad("bytes node") end
    return (v:gsub("..", function(h) return string.char(tonumber(h, 16)) end))
  elseif tag == "B" then
    if type(v) ~= "boolean" then bad("boolean node") end
    return v
  elseif tag == "S" then
    if type(v) ~= "table" then bad("Size node") end
    local s = {}
    for i, d in ipairs(v) do
      if math.type(d) ~= "integer" then bad("Size node") end
      s[i] = d
    end
    return setmetatable(s, C._size_metatable)
  elseif tag == "t" then
    local t = {}
    if #node % 2 ~= 1 then bad("table node") end
    for i = 2, #node, 2 do
      local k = node[i]
      if math.type(k) ~= "integer" and type(k) ~= "string" then bad("table key") end
      t[k] = decode(node[i + 1], ctx, depth + 1)
    end
    return t
  end
  bad("unknown tag '" .. tostring(tag) .. "'")
end

function M.load(path, opts)
  if type(path) ~= "string" then fail("torch.load: bad argument #1 (path string expected, got " .. type(path) .. ")") end
  if opts ~= nil and type(opts) ~= "table" then fail("torch.load: bad argument #2 (options table expected)") end
  local map_location = opts and opts.map_location
  if map_location ~= nil and type(map_location) ~= "string" then
    fail("torch.load: map_location must be a device string such as 'cpu' or 'cuda' (got " .. type(map_location) .. ")")
  end
  if path:sub(-4) == ".npy" then return move(C._load_npy(path), map_location) end
  local names, tensors, meta = C._load_safetensors(path)
  local byname = {}
  for i, n in ipairs(names) do byname[n] = tensors[i] end
  local structure = meta["nnlua.structure"]
  if not structure then -- written by Python (safetensors / PyTorch): a flat name -> tensor table
    local out = {}
    for n, t in pairs(byname) do out[n] = move(t, map_location) end
    return out
  end
  local ok, node = pcall(C._json_decode, structure)
  if not ok then fail(string.format("torch.load: %s: bad nnlua.structure (%s)", path, node)) end
  return decode(node, { path = path, byname = byname, seen = {}, map_location = map_location }, 0)
end

function M.install(torch)
  torch.save = M.save
  torch.load = M.load
end

return M
