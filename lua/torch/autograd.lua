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

return M
