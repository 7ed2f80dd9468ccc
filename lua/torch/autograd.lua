-- torch.autograd: the Lua half of autograd (the engine and the tensor attributes are C:
-- autograd/ and vm/lautograd.c). Adds torch.autograd.{grad, backward, gradcheck},
-- torch.no_grad / torch.enable_grad (function and to-be-closed guard forms).
local M = {}

function M.install(torch)
  local C_grad, C_backward, set_enabled = torch._autograd_grad, torch._autograd_backward, torch.set_grad_enabled
  local autograd = {}
  torch.autograd = autograd

  -- torch.autograd.grad(outputs, inputs, {grad_outputs=, retain_graph=, create_graph=, allow_unused=})
  function autograd.grad(outputs, inputs, opts) return C_grad(outputs, inputs, opts) end
  -- torch.autograd.backward(tensors, grad_tensors?, {retain_graph=, create_graph=})
  function autograd.backward(tensors, grads, opts)
    if opts == nil and type(grads) == "table" and not torch.is_tensor(grads) and #grads == 0 and next(grads) ~= nil then
      grads, opts = nil, grads
    end
    return C_backward(tensors, grads, opts)
  end

  -- torch.autograd._queue_callback(fn): fn() runs once, right after the backward pass in
  -- progress (t:backward() or autograd.backward) has finished (PyTorch's
  -- Variable._execution_engine.queue_callback; DistributedDataParallel waits for its gradient
  -- all-reduces there). A backward that fails drops the queue.
  local queued = {}
  function autograd._queue_callback(fn) queued[#queued + 1] = fn end
  local function after_backward(ok, ...)
    local q = queued
    queued = {}
    if not ok then error((...), 0) end
    for _, f in ipairs(q) do f() end
    return ...
  end
  local T_backward, A_backward = torch.Tensor.backward, autograd.backward
  torch.Tensor.backward = function(...) return after_backward(pcall(T_backward, ...)) end
  autograd.backward = function(...) return after_backward(pcall(A_backward, ...)) end

  -- Runs fn(...) with grad mode `on`, restoring the previous mode even when fn errors.
  local function with_mode(on, fn, ...)
    local prev = set_enabled(on)
    local res = table.pack(pcall(fn, ...))
    set_enabled(prev)
    if not res[1] then error(res[2], 0) end
    return table.unpack(res, 2, res.n)
  end
  -- A to-be-closed guard: `local g <close> = torch.no_grad()`.
  local Guard = { __name = "torch.autograd.grad_mode" }
  Guard.__index = Guard
  Guard.__close = function(g) set_enabled(g.prev) end
  function Guard.__tostring(g) return "grad mode guard (previous: " .. tostring(g.prev) .. ")" end
  local function guard(on) return setmetatable({ prev = set_enabled(on) }, Guard) end

  function torch.no_grad(fn, ...)
    if fn == nil then return guard(false) end
    return with_mode(false, fn, ...)
  end
  function torch.enable_grad(fn, ...)
    if fn == nil then return guard(true) end
    return with_mode(true, fn, ...)
  end
  autograd.no_grad, autograd.enable_grad = torch.no_grad, torch.enable_grad

  -- torch.autograd.set_detect_anomaly(b) -> previous; while on, every node records the Lua
  -- traceback of its forward call and backward fails on a NaN or inf gradient naming them.
  function autograd.set_detect_anomaly(on)
    if type(on) ~= "boolean" then
      error(("set_detect_anomaly: expected a boolean (got %s)"):format(type(on)), 2)
    end
    return torch._set_detect_anomaly(on)
  end
  autograd.is_anomaly_enabled = torch._is_anomaly_enabled
  -- detect_anomaly(fn, ...): runs fn with anomaly mode on (restored afterwards)
  function autograd.detect_anomaly(fn, ...)
    local prev = torch._set_detect_anomaly(true)
    local res = table.pack(pcall(fn, ...))
    torch._set_detect_anomaly(prev)
    if not res[1] then error(res[2], 0) end
    return table.unpack(res, 2, res.n)
  end

  autograd.Function = M.function_class(torch, with_mode)

  -- torch.autograd.gradcheck(fn, inputs, {eps=1e-6, atol=1e-5, rtol=1e-3, raise=true}):
  -- compares the gradients of every output element from backward with float64 central
  -- differences. Inputs that require grad must be float64. Returns true, or raises (or
  -- returns false, message with raise=false) naming the input, output and element.
  function autograd.gradcheck(fn, inputs, opts)
    opts = opts or {}
    local eps, atol, rtol = opts.eps or 1e-6, opts.atol or 1e-5, opts.rtol or 1e-3
    local raise = opts.raise ~= false
    if torch.is_tensor(inputs) then inputs = { inputs } end
    local function fail(msg)
      if raise then error("gradcheck: " .. msg, 2) end
      return false, "gradcheck: " .. msg
    end
    local diff = {}
    for i, x in ipairs(inputs) do
      if torch.is_tensor(x) and x.requires_grad then
        if x.dtype ~= "float64" then
          return fail(("input %d has dtype %s; gradcheck needs float64 inputs"):format(i, x.dtype))
        end
        diff[#diff + 1] = i
      end
    end
    if #diff == 0 then return fail("no input requires grad") end
    local function outputs()
      local out = table.pack(fn(table.unpack(inputs)))
      local list = {}
      for k = 1, out.n do
        if torch.is_tensor(out[k]) then list[#list + 1] = out[k] end
      end
      return list
    end
    local outs = torch.no_grad(outputs)
    for oi, out in ipairs(outs) do
      local n = out:numel()
      -- analytical: one backward per output element
      local analytical = {}
      for j, i in ipairs(diff) do analytical[j] = torch.zeros(n, inputs[i]:numel(), { dtype = "float64" }) end
      for e = 1, n do
        local o = outputs()[oi]
        if o.requires_grad then
          local go = torch.zeros(n, { dtype = o.dtype })
          go[e] = 1
          local xs = {}
          for j, i in ipairs(diff) do xs[j] = inputs[i] end
          local gs = autograd.grad({ o }, xs, { grad_outputs = { go:view(o.shape) }, allow_unused = true })
          for j = 1, #diff do
            if gs[j] then analytical[j][e] = gs[j]:double():reshape(-1) end
          end
        end
      end
      -- numerical: central differences on each input element
      for j, i in ipairs(diff) do
        local x = inputs[i]
        local flat = x.data:view(-1)
        if not x:is_contiguous() then
          return fail(("input %d must be contiguous (make it with :contiguous() before requires_grad)"):format(i))
        end
        for k = 1, x:numel() do
          local v = flat[k]:item()
          flat[k] = v + eps
          local plus = torch.no_grad(outputs)[oi]:double():clone():reshape(-1)
          flat[k] = v - eps
          local minus = torch.no_grad(outputs)[oi]:double():clone():reshape(-1)
          flat[k] = v
          local num = (plus - minus) / (2 * eps)
          for e = 1, n do
            local a, b = analytical[j][e][k]:item(), num[e]:item()
            if math.abs(a - b) > atol + rtol * math.abs(b) then
              return fail(("Jacobian mismatch for output %d element %d with respect to input %d element %d: " ..
                "numerical %.10g, analytical %.10g"):format(oi, e, i, k, b, a))
            end
          end
        end
      end
    end
    return true
  end
end

-- torch.autograd.Function{forward=function(ctx, ...) end, backward=function(ctx, grad) end,
-- name=}: an op written in Lua. F(...) or F:apply(...) runs forward with grad mode off; when
-- grad mode is on and a tensor input requires grad, the (single tensor) output gets a node
-- "<name>Backward" whose backward calls F.backward(ctx, grad_output), which returns one
-- gradient (or nil) per forward input. ctx:save_for_backward(...) / ctx.saved_tensors (checked
-- against in-place changes, freed after a backward without retain_graph),
-- ctx.needs_input_grad (a list of booleans), and any other field the user sets on ctx.
function M.function_class(torch, with_mode)
  local record, reattach = torch._function_record, torch._function_reattach
  local is_tensor = torch.is_tensor

  local Ctx = {}
  local function fname(ctx) return rawget(ctx, "_name") or "Function" end
  local function saved(ctx)
    local s = rawget(ctx, "_saved")
    if s == nil then return {} end
    if s == false then
      error(fname(ctx) .. ": trying to backward through the graph a second time (or directly access saved " ..
        "tensors after they have already been freed); saved values are freed after backward(): specify " ..
        "retain_graph=true if you need to backward through the graph a second time", 2)
    end
    local out = {}
    for i = 1, s.n do
      local t = s[i]
      if t ~= nil then
        if t._version ~= s.version[i] then
          error(("%s: a tensor saved by save_for_backward (argument %d) was modified by an in-place " ..
            "operation (version %d, expected %d)"):format(fname(ctx), i, t._version, s.version[i]), 2)
        end
        local node = rawget(ctx, "_node")
        if s.output[i] and node and torch.is_grad_enabled() then t = reattach(t, node) end
        out[i] = t
      end
    end
    return out
  end
  Ctx.__index = function(ctx, k)
    if k == "saved_tensors" then return saved(ctx) end
    return Ctx[k]
  end
  Ctx.__name = "torch.autograd.FunctionCtx"
  function Ctx.save_for_backward(ctx, ...)
    local n = select("#", ...)
    local s = { n = n, version = {}, output = {} }
    for i = 1, n do
      local t = select(i, ...)
      if t ~= nil and not is_tensor(t) then
        error(("%s: save_for_backward can only save tensors or nil (argument %d is a %s)"):format(
          fname(ctx), i, type(t)), 2)
      end
      s[i] = t
      s.version[i] = t and t._version
    end
    rawset(ctx, "_saved", s)
  end

  local function shape_str(sz)
    local p = {}
    for i = 1, #sz do p[i] = tostring(sz[i]) end
    return "[" .. table.concat(p, ", ") .. "]"
  end

  -- called by the C node: checks and returns the gradients of the forward inputs
  torch._function_set_backward(function(ctx, node, grad, retain)
    local F = rawget(ctx, "_fn")
    rawset(ctx, "_node", node)
    local res = table.pack(pcall(F.backward, ctx, grad))
    rawset(ctx, "_node", nil)
    if not retain and rawget(ctx, "_saved") then rawset(ctx, "_saved", false) end
    if not res[1] then error(res[2], 0) end
    local name, nin, shapes = fname(ctx), rawget(ctx, "_nin"), rawget(ctx, "_shapes")
    local count = res.n - 1
    while count > nin and res[count + 1] == nil do count = count - 1 end
    if count ~= nin then
      error(("%s: backward returned %d gradients, expected %d (one per forward input)"):format(name, count, nin), 0)
    end
    local grads = {}
    for i = 1, nin do
      local g = res[i + 1]
      if g ~= nil then
        if not is_tensor(g) then
          error(("%s: backward returned a %s for input %d (expected a tensor or nil)"):format(name, type(g), i), 0)
        end
        local want = shapes[i]
        if not want then
          error(("%s: backward returned a gradient for input %d, but that forward input is not a tensor")
            :format(name, i), 0)
        end
        local ok = #g.shape == #want
        for d = 1, #want do ok = ok and g.shape[d] == want[d] end
        if not ok then
          error(("%s: backward returned a gradient of shape %s for input %d, expected shape %s"):format(
            name, shape_str(g.shape), i, shape_str(want)), 0)
        end
        grads[i] = g
      end
    end
    return grads
  end)

  local Function = {}
  function Function.apply(F, ...)
    local n = select("#", ...)
    local args = table.pack(...)
    local name = (rawget(F, "name") or "Function") .. "Backward"
    local ctx = setmetatable({ _name = name }, Ctx)
    local needs, any = {}, false
    local on = torch.is_grad_enabled()
    for i = 1, n do
      local a = args[i]
      needs[i] = on and is_tensor(a) and a.requires_grad or false
      any = any or needs[i]
    end
    ctx.needs_input_grad = needs
    local out = table.pack(with_mode(false, F.forward, ctx, ...))
    if not any then return table.unpack(out, 1, out.n) end
    if out.n ~= 1 or not is_tensor(out[1]) then
      error(("%s: forward must return a single tensor when an input requires grad (got %d values, the first a %s)")
        :format(name, out.n, out.n > 0 and type(out[1]) or "nil"), 2)
    end
    local o = out[1]
    if o.dtype ~= "float32" and o.dtype ~= "float64" and o.dtype ~= "float16" and o.dtype ~= "bfloat16" then
      return o
    end
    local s = rawget(ctx, "_saved")
    if s then
      for i = 1, s.n do
        if rawequal(s[i], o) then s.output[i] = true end
      end
    end
    local shapes = {}
    for i = 1, n do
      if is_tensor(args[i]) then shapes[i] = args[i].shape end
    end
    rawset(ctx, "_fn", F)
    rawset(ctx, "_nin", n)
    rawset(ctx, "_shapes", shapes)
    return record(ctx, name, o, args, n)
  end

  local FunctionMT = {
    __index = Function,
    __call = function(F, ...) return Function.apply(F, ...) end,
    __name = "torch.autograd.Function",
  }
  return function(def)
    if type(def) ~= "table" then
      error(("autograd.Function: expected a table {forward=, backward=} (got %s)"):format(type(def)), 2)
    end
    for _, k in ipairs({ "forward", "backward" }) do
      if type(rawget(def, k)) ~= "function" then
        error(("autograd.Function: field '%s' must be a function (got %s)"):format(k, type(rawget(def, k))), 2)
      end
    end
    return setmetatable(def, FunctionMT)
  end
end

return M
