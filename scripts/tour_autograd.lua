-- Autograd tour: seed 001's "nn.AutoGrad" section (requires_grad, requires_grad_, the
-- c = a + b, d = 2b + 1, e = c * d graph, e.backward(gradient), .grad), then seed 004's Task 2
-- (Q = 3a^3 - b^2, a vector-Jacobian product through backward(gradient=...), excluding
-- tensors from the DAG) and seed 000's grad_fn walk (loss.grad_fn.next_functions[0][0]...),
-- with no_grad and detach. Prints what the seeds print, in nnlua's layout.
--
--   build/nnlua scripts/tour_autograd.lua
--
-- Layout differences from PyTorch: Lua prints booleans as true/false and nil for None;
-- grad_fn names carry no version suffix (MulBackward, not MulBackward0); next_functions is a
-- Lua list indexed from 1 of {fn, index} pairs.

local function section(title) print("\n== " .. title .. " ==") end

-- ---- seed 001: requires_grad / requires_grad_ ----------------------------------------------
section("seed 001: requires_grad")
-- x = torch.FloatTensor([10])
local x = torch.tensor({ 10 }, { dtype = torch.float32 })
print(string.format("require gradient? %s", x.requires_grad))
print(x)
print()
-- x.requires_grad_(True): the trailing _ changes x in place
x:requires_grad_(true)
print(string.format("require gradient? %s", x.requires_grad))
print(x)

-- ---- seed 001: c = a + b, d = 2b + 1, e = c * d at a = 2, b = 3 ----------------------------
section("seed 001: a computation graph")
-- a = torch.FloatTensor([2]).requires_grad_()
local a = torch.tensor({ 2 }, { dtype = torch.float32 }):requires_grad_()
local b = torch.tensor({ 3 }, { dtype = torch.float32 })
local c = a + b
local d = 2 * b + 1
local e = c * d

print("require gradient?")
-- for t, name in zip([a, b, c, d, e], ["a", "b", "c", "d", "e"]):
local tensors, names = { a, b, c, d, e }, { "a", "b", "c", "d", "e" }
for i, t in ipairs(tensors) do
  print(string.format("  - %s(=%s): %s \t/ grad_fn: \t %s", names[i], t:item(), t.requires_grad, t.grad_fn))
end

-- gradient = torch.FloatTensor([1.]); e.backward(gradient)
local gradient = torch.tensor({ 1. })
e:backward(gradient)

-- de/da = d = 2b + 1 = 7; b does not require grad; c, d, e are not leaves: .grad is nil
print("gradient")
for i, t in ipairs(tensors) do
  print(string.format("  - %s: %s", names[i], t.grad))
end

-- ---- seed 004 2-2: Q = 3a^3 - b^2, backward with an external gradient ---------------------
section("seed 004: Q = 3*a**3 - b**2")
-- a = torch.tensor([2., 3.], requires_grad=True)
local a2 = torch.tensor({ 2., 3. }, { requires_grad = true })
local b2 = torch.tensor({ 6., 4. }, { requires_grad = true })
-- Q = 3*a**3 - b**2   (** is ^ in Lua)
local Q = 3 * a2 ^ 3 - b2 ^ 2
-- Q is a vector: backward needs dQ/dQ, here ones. backward(v) computes the vector-Jacobian
-- product v^T J, so a.grad = v * 9a^2 and b.grad = v * (-2b).
local external_grad = torch.tensor({ 1., 1. })
Q:backward(external_grad) -- Q.backward(gradient=external_grad)
-- print(9*a**2 == a.grad): elementwise == is :eq in Lua (== compares identity)
print((9 * a2 ^ 2):eq(a2.grad))
print((-2 * b2):eq(b2.grad))
print("a.grad =", a2.grad, "b.grad =", b2.grad)

-- The same product with v = [1, 0] picks the first row of the Jacobian: only dQ1 flows back.
a2.grad, b2.grad = nil, nil
local Q2 = 3 * a2 ^ 3 - b2 ^ 2
Q2:backward(torch.tensor({ 1., 0. }))
print("with gradient [1, 0]: a.grad =", a2.grad, "b.grad =", b2.grad)

-- ---- the DAG: grad_fn and next_functions ---------------------------------------------------
section("the DAG behind Q (grad_fn.next_functions)")
-- Walks the graph from Q.grad_fn: each node lists {next_fn, index} pairs; leaves that require
-- grad end in AccumulateGrad (its .variable is the leaf); constants appear as nil.
local function walk(fn, depth)
  local line = string.rep("  ", depth) .. fn:name()
  if fn:name() == "AccumulateGrad" then line = line .. "  -> " .. tostring(fn.variable) end
  print(line)
  for _, pair in ipairs(fn.next_functions) do
    if pair[1] then walk(pair[1], depth + 1) end
  end
end
Q = 3 * a2 ^ 3 - b2 ^ 2
walk(Q.grad_fn, 0)

-- seed 000 / 004 3-2: print(loss.grad_fn); loss.grad_fn.next_functions[0][0]; ...[0][0]
torch.manual_seed(1)
local net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 10))
local output = net(torch.randn(1, 4))
local target = torch.randn(10):view(1, -1)
local criterion = nn.MSELoss()
local loss = criterion(output, target)
-- PyTorch prints MseLossBackward0, AddmmBackward0, AccumulateGrad: nnlua's Linear records
-- x:matmul(W^T) + b as two nodes (AddBackward, then MatmulBackward), so the walk shows those.
print(loss.grad_fn)                                              -- MseLossBackward
print(loss.grad_fn.next_functions[1][1])                         -- the last Linear: + bias
print(loss.grad_fn.next_functions[1][1].next_functions[1][1])   -- ... and its matmul

-- ---- seed 004 2-3: excluding tensors from the DAG -----------------------------------------
section("seed 004: excluding from the DAG")
local xr = torch.rand(5, 5)
local yr = torch.rand(5, 5)
local z = torch.rand({ 5, 5 }, { requires_grad = true })
local s1 = xr + yr
print(string.format("Does `a` require gradients? : %s", s1.requires_grad))
local s2 = xr + z
print(string.format("Does `b` require gradients?: %s", s2.requires_grad))

-- with torch.no_grad(): two Lua forms, a function or a to-be-closed guard
local r = torch.no_grad(function() return z * 2 end)
print("no_grad(fn): requires_grad =", r.requires_grad)
do
  local _ <close> = torch.no_grad()
  print("inside the no_grad guard: requires_grad =", (z * 2).requires_grad, "grad enabled =", torch.is_grad_enabled())
end
print("after the guard: grad enabled =", torch.is_grad_enabled())
-- z.detach(): same data, cut from the graph
local zd = z:detach()
print("detach: requires_grad =", zd.requires_grad, "is_leaf =", zd.is_leaf, "grad_fn =", zd.grad_fn)
-- param.requires_grad = False (freezing, as in the fine-tuning example)
local lin = nn.Linear(5, 2)
for _, p in ipairs(lin:parameters()) do p.requires_grad = false end
print("frozen Linear: output requires grad =", lin(z).requires_grad, "(z still does)")
print("frozen Linear on x: output requires grad =", lin(xr).requires_grad)
