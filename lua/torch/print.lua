-- torch.print: tostring(t) in PyTorch 1.13's repr layout (torch/_tensor_str.py), and
-- torch.set_printoptions.
--
-- The algorithm follows _tensor_str.py step by step:
-- * summarize = numel > threshold; then only the first and last `edgeitems` indices of every
--   dim longer than 2 * edgeitems are read (torch._print_data, vm/lt_print.c, returns them
--   flat, row-major), so printing touches a few thousand elements at most;
-- * one _Formatter over those elements decides int_mode (every nonzero finite value is an
--   integer: `1.` style), sci_mode (max/min > 1000, max > 1e8 or, outside int_mode,
--   min < 1e-4, all over the nonzero finite absolute values; the sci_mode option overrides)
--   and the column width (the widest formatted nonzero finite value);
-- * vectors wrap at linewidth, nested dims are joined by ",\n" plus one more blank line per
--   level, `...` marks summarised parts;
-- * suffixes (device, size, dtype, grad_fn or requires_grad) go after the contents, on a new
--   line when the last line would pass linewidth.
--
-- nnlua differences, decided against API.md: the requires_grad suffix prints a Lua boolean
-- (`requires_grad=true`) and grad_fn prints t.grad_fn:name() (`grad_fn=<MulBackward>`, no
-- trailing 0). API.md says nothing about the contents of bool tensors, so they follow
-- PyTorch: `tensor([ True, False])` (these are values of a tensor, not Lua booleans).
-- Numbers are formatted like Python's format(): nan and inf never carry a sign from C's
-- printf ("-nan"); -0.0 keeps its sign ("-0.", "-0.0000") as in Python.
local M = {}

local floor, huge = math.floor, math.huge
local rep, sfmt, concat = string.rep, string.format, table.concat

local DEFAULTS = { precision = 4, threshold = 1000, edgeitems = 3, linewidth = 80 }
local PROFILES = {
  default = { precision = 4, threshold = 1000, edgeitems = 3, linewidth = 80 },
  short = { precision = 2, threshold = 1000, edgeitems = 2, linewidth = 80 },
  full = { precision = 4, threshold = huge, edgeitems = 3, linewidth = 80 },
}

-- Current options; sci_mode nil means automatic.
local P = { precision = 4, threshold = 1000, edgeitems = 3, linewidth = 80, sci_mode = nil }
M.options = P

local function check_count(name, v, allow_inf)
  if type(v) ~= "number" or v < 0 or (v ~= floor(v) and not (allow_inf and v == huge)) then
    error(sfmt("set_printoptions: %s must be a non-negative integer (got %s)", name, tostring(v)), 3)
  end
end

-- torch.set_printoptions{precision=, threshold=, edgeitems=, linewidth=, profile=, sci_mode=}
-- Like PyTorch, sci_mode is always assigned: a call without it goes back to automatic.
function M.set_printoptions(o)
  o = o or {}
  if type(o) ~= "table" then error("set_printoptions: expected an options table (got " .. type(o) .. ")", 2) end
  for k in pairs(o) do
    if not (DEFAULTS[k] or k == "profile" or k == "sci_mode") then
      error(sfmt("set_printoptions: unknown option '%s' (expected precision, threshold, edgeitems, linewidth, profile, sci_mode)", tostring(k)), 2)
    end
  end
  if o.profile ~= nil then
    local p = PROFILES[o.profile]
    if not p then
      error(sfmt("set_printoptions: unknown profile '%s' (expected default, short or full)", tostring(o.profile)), 2)
    end
    for k, v in pairs(p) do P[k] = v end
  end
  for k in pairs(DEFAULTS) do
    if o[k] ~= nil then
      check_count(k, o[k], k == "threshold")
      if k == "precision" and o[k] > 99 then -- string.format's limit
        error(sfmt("set_printoptions: precision must be at most 99 (got %s)", tostring(o[k])), 2)
      end
      P[k] = o[k] == huge and huge or math.tointeger(o[k]) or o[k]
    end
  end
  if o.sci_mode ~= nil and type(o.sci_mode) ~= "boolean" then
    error("set_printoptions: sci_mode must be a boolean or nil (got " .. tostring(o.sci_mode) .. ")", 2)
  end
  P.sci_mode = o.sci_mode
end

-- ---- number formatting (Python's format mini-language, the cases the printer uses) ----------
local function special(v)
  if v ~= v then return "nan" end
  if v == huge then return "inf" end
  if v == -huge then return "-inf" end
  return nil
end
local function fmt_f(v, prec) return special(v) or sfmt("%." .. prec .. "f", v) end
local function fmt_e(v, prec) return special(v) or sfmt("%." .. prec .. "e", v) end
local function fmt_scalar(v) -- '{}'.format(v) for integer and bool elements
  if v == true then return "True" elseif v == false then return "False" end
  return tostring(v)
end

-- ---- _Formatter ---------------------------------------------------------------------------
local Formatter = {}
Formatter.__index = Formatter

local function new_formatter(vals, floating)
  local f = setmetatable({ floating = floating, int_mode = true, sci_mode = false, max_width = 1 }, Formatter)
  local prec = P.precision
  if not floating then
    for i = 1, #vals do
      local n = #fmt_scalar(vals[i])
      if n > f.max_width then f.max_width = n end
    end
  else
    local nz, lo, hi = {}, huge, 0
    for i = 1, #vals do
      local v = vals[i]
      if v == v and v ~= huge and v ~= -huge and v ~= 0 then
        nz[#nz + 1] = v
        local a = v < 0 and -v or v
        if a < lo then lo = a end
        if a > hi then hi = a end
      end
    end
    if #nz == 0 then return f end -- PyTorch returns here: the sci_mode option is not applied
    for i = 1, #nz do
      if nz[i] ~= math.ceil(nz[i]) then f.int_mode = false; break end
    end
    local w = 1
    if f.int_mode then
      if hi / lo > 1000 or hi > 1e8 then
        f.sci_mode = true
        for i = 1, #nz do w = math.max(w, #fmt_e(nz[i], prec)) end
      else
        for i = 1, #nz do w = math.max(w, #sfmt("%.0f", nz[i]) + 1) end
      end
    else
      if hi / lo > 1000 or hi > 1e8 or lo < 1e-4 then
        f.sci_mode = true
        for i = 1, #nz do w = math.max(w, #fmt_e(nz[i], prec)) end
      else
        for i = 1, #nz do w = math.max(w, #fmt_f(nz[i], prec)) end
      end
    end
    f.max_width = w
  end
  if P.sci_mode ~= nil then f.sci_mode = P.sci_mode end
  return f
end

function Formatter:format(v)
  local s
  if self.floating then
    if self.sci_mode then
      s = fmt_e(v, P.precision)
    elseif self.int_mode then
      s = special(v) or (sfmt("%.0f", v) .. ".")
    else
      s = fmt_f(v, P.precision)
    end
  else
    s = fmt_scalar(v)
  end
  local pad = self.max_width - #s
  return pad > 0 and rep(" ", pad) .. s or s
end

-- ---- layout -------------------------------------------------------------------------------
-- ctx: vals (flat summarised elements), shape (original), kept (summarised sizes),
-- kstride (strides into vals), summarize, fmt.
local function vector_str(ctx, base, indent)
  local fmt, n, e = ctx.fmt, ctx.shape[ctx.ndim], P.edgeitems
  local element_length = fmt.max_width + 2
  local per_line = math.max(1, floor((P.linewidth - indent) / element_length))
  local data = {}
  if ctx.summarize and e == 0 then
    data[1] = "..."
  elseif ctx.summarize and n > 2 * e then
    for i = 0, e - 1 do data[#data + 1] = fmt:format(ctx.vals[base + i + 1]) end
    data[#data + 1] = " ..."
    for i = e, 2 * e - 1 do data[#data + 1] = fmt:format(ctx.vals[base + i + 1]) end
  else
    for i = 0, n - 1 do data[#data + 1] = fmt:format(ctx.vals[base + i + 1]) end
  end
  local lines = {}
  for i = 1, #data, per_line do
    lines[#lines + 1] = concat(data, ", ", i, math.min(i + per_line - 1, #data))
  end
  return "[" .. concat(lines, ",\n" .. rep(" ", indent + 1)) .. "]"
end

local function tensor_str(ctx, d, base, indent)
  local ndim = ctx.ndim
  if ndim == 0 then return ctx.fmt:format(ctx.vals[1]) end
  if d == ndim then return vector_str(ctx, base, indent) end
  local n, e, ks = ctx.shape[d], P.edgeitems, ctx.kstride[d]
  local slices = {}
  if ctx.summarize and n > 2 * e then
    for i = 0, e - 1 do slices[#slices + 1] = tensor_str(ctx, d + 1, base + i * ks, indent + 1) end
    slices[#slices + 1] = "..."
    for i = e, 2 * e - 1 do slices[#slices + 1] = tensor_str(ctx, d + 1, base + i * ks, indent + 1) end
  else
    for i = 0, n - 1 do slices[#slices + 1] = tensor_str(ctx, d + 1, base + i * ks, indent + 1) end
  end
  return "[" .. concat(slices, "," .. rep("\n", ndim - d) .. rep(" ", indent + 1)) .. "]"
end

local FLOATING = { float32 = true, float64 = true, float16 = true, bfloat16 = true }

-- The contents ("[[1., 2.]]" or "3.5000") of a tensor with at least one element.
function M.tensor_str(t, indent)
  local torch = M.torch or require "torch"
  local shape = t.shape
  local ndim, numel = #shape, 1
  for i = 1, ndim do numel = numel * shape[i] end
  local summarize = numel > P.threshold
  local e = P.edgeitems
  local ctx = { ndim = ndim, shape = shape, summarize = summarize, kstride = {} }
  ctx.vals = torch._print_data(t, e, summarize)
  local s = 1
  for d = ndim, 1, -1 do
    ctx.kstride[d] = s
    s = s * ((summarize and shape[d] > 2 * e) and 2 * e or shape[d])
  end
  ctx.fmt = new_formatter(ctx.vals, FLOATING[t.dtype] or false)
  return tensor_str(ctx, 1, 0, indent)
end

local function add_suffixes(s, suffixes, indent)
  local parts = { s }
  local last_nl = s:match(".*()\n") -- 1-based position of the last newline
  local last_line_len = #s - (last_nl and last_nl - 1 or -1) + 1 -- as PyTorch computes it
  for _, suffix in ipairs(suffixes) do
    if last_line_len + #suffix + 2 > P.linewidth then
      parts[#parts + 1] = ",\n" .. rep(" ", indent) .. suffix
      last_line_len = indent + #suffix
    else
      parts[#parts + 1] = ", " .. suffix
      last_line_len = last_line_len + #suffix + 2
    end
  end
  parts[#parts + 1] = ")"
  return concat(parts)
end

-- Reads an attribute that a later issue may add (requires_grad, grad_fn): nil when absent.
local function attr(t, name)
  local ok, v = pcall(function() return t[name] end)
  if ok then return v end
  return nil
end

local function grad_fn_name(g)
  if g == nil then return nil end
  local ok, name = pcall(function() return g:name() end)
  if ok and type(name) == "string" then return name end
  return nil
end

-- repr(t). `state` (optional, for tests and wrappers) overrides the autograd state:
-- {requires_grad = bool, grad_fn = name string}.
function M.repr(t, state)
  local torch = M.torch or require "torch"
  local prefix = "tensor("
  local indent = #prefix
  local suffixes = {}
  local dtype, device = t.dtype, t.device
  if device ~= "cpu" then suffixes[#suffixes + 1] = "device='" .. device .. "'" end
  local default = torch.get_default_dtype()
  local has_default_dtype = dtype == default or dtype == "int64" or dtype == "bool"
  local shape = t.shape
  local numel = 1
  for i = 1, #shape do numel = numel * shape[i] end
  local body
  if numel == 0 then
    if #shape ~= 1 then
      local dims = {}
      for i = 1, #shape do dims[i] = tostring(shape[i]) end
      suffixes[#suffixes + 1] = "size=(" .. concat(dims, ", ") .. ")"
    end
    if dtype ~= default then suffixes[#suffixes + 1] = "dtype=torch." .. dtype end
    body = "[]"
  else
    if not has_default_dtype then suffixes[#suffixes + 1] = "dtype=torch." .. dtype end
    body = M.tensor_str(t, indent)
  end
  local gname, rg
  if state then
    gname, rg = state.grad_fn, state.requires_grad
  else
    gname = grad_fn_name(attr(t, "grad_fn"))
    rg = attr(t, "requires_grad")
  end
  if gname then
    suffixes[#suffixes + 1] = "grad_fn=<" .. gname .. ">"
  elseif rg then
    suffixes[#suffixes + 1] = "requires_grad=true"
  end
  return add_suffixes(prefix .. body, suffixes, indent)
end

-- Installs the printer: tensor __tostring and torch.set_printoptions.
function M.install(torch)
  M.torch = torch
  torch._metatable.__tostring = function(t) return M.repr(t) end
  torch.set_printoptions = M.set_printoptions
end

return M
