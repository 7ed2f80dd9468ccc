-- Tensor tour: seed 004's Task 1 ("Tensors"), cell by cell: creation, attributes, indexing
-- and slicing, joining, arithmetic, in-place ops, the NumPy bridge and the GPU move. Prints
-- what the seed prints, in nnlua's layout (random values differ: another generator).
--
--   build/nnlua scripts/tour_tensors.lua

local function section(title) print("\n== " .. title .. " ==") end

torch.manual_seed(0)

-- ---- 1-2. creating tensors -------------------------------------------------------------
section("1-2 creating tensors")
-- data = [[1,2],[3,4]]; x_data = torch.tensor(data)   (Lua integers -> int64, like Python ints)
local data = { { 1, 2 }, { 3, 4 } }
local x_data = torch.tensor(data)
print(x_data)

-- np_array = np.array(data); x_np = torch.from_numpy(np_array)
-- No NumPy in Lua: nested Lua tables play its part (see 1-5 for the bridge both ways).
local x_np = torch.tensor(data)
print(x_np)

-- x_ones = torch.ones_like(x_data): same shape and dtype (int64)
local x_ones = torch.ones_like(x_data)
print(string.format("Ones Tensor: \n %s \n", x_ones))
-- x_rand = torch.rand_like(x_data, dtype=torch.float): keyword arguments go in an options table
local x_rand = torch.rand_like(x_data, { dtype = torch.float })
print(string.format("Random Tensor: \n %s \n", x_rand))

-- shape = (3,4,): a Lua table; torch.rand(shape) takes a table or varargs
local shape = { 3, 4 }
local rand_tensor = torch.rand(shape)
local ones_tensor = torch.ones(shape)
local zeros_tensor = torch.zeros(shape)
print(string.format("Random Tensor: \n %s \n", rand_tensor))
print(string.format("Ones Tensor: \n %s \n", ones_tensor))
print(string.format("Zeros Tensor: \n %s", zeros_tensor))

-- ---- 1-3. attributes ----------------------------------------------------------------------
section("1-3 attributes")
local tensor = torch.rand(3, 4)
print(string.format("Shape of tensor: %s", tensor.shape))   -- torch.Size([3, 4])
print(string.format("Datatype of tensor: %s", tensor.dtype)) -- float32 (PyTorch: torch.float32)
print(string.format("Device tensor is stored on: %s", tensor.device))
-- t.shape is a Size: #s dims, s[1] the first size (1-based); t:size(d) the same
print(string.format("#tensor.shape = %d, tensor.shape[1] = %d, tensor:size(2) = %d", #tensor.shape, tensor.shape[1],
  tensor:size(2)))

-- ---- 1-4. operations ----------------------------------------------------------------------
section("1-4 operations")
-- if torch.cuda.is_available(): tensor = tensor.to("cuda")
if torch.cuda.is_available() then
  tensor = tensor:to("cuda")
end
print(string.format("tensor is on %s", tensor.device))

tensor = torch.ones(4, 4)
print(tensor, "\n")
-- tensor[0] / tensor[:, 0] / tensor[..., -1]: indices are 1-based, {} takes a whole dim,
-- "..." stands for the dims not named (as many {} as needed)
print(string.format("First row: %s", tensor[1]))
print(string.format("First column: %s", tensor[{ {}, 1 }]))
print(string.format("Last column: %s", tensor[{ "...", -1 }]))
-- tensor[:,1] = 0: the second column
tensor[{ {}, 2 }] = 0
print(tensor)

-- t1 = torch.cat([tensor, tensor], dim=1): dim 2 here (columns)
print(tensor, "\n")
local t1 = torch.cat({ tensor, tensor }, 2)
print(t1)

-- y1 = tensor @ tensor.T: no @ in Lua, matmul instead
local y1 = tensor:matmul(tensor.T)
local y2 = tensor:matmul(tensor.T)
local y3 = torch.rand_like(y1)
torch.matmul(tensor, tensor.T, { out = y3 }) -- out= goes in the options table
print(y3)
print("y1 == y2 == y3:", torch.equal(y1, y2) and torch.equal(y2, y3))

-- z1 = tensor * tensor; z2 = tensor.mul(tensor); torch.mul(tensor, tensor, out=z3)
local z1 = tensor * tensor
local z2 = tensor:mul(tensor)
local z3 = torch.rand_like(tensor)
torch.mul(tensor, tensor, { out = z3 })
print(z3)
print("z1 == z2 == z3:", torch.equal(z1, z2) and torch.equal(z2, z3))

-- agg = tensor.sum(); agg_item = agg.item()
local agg = tensor:sum()
local agg_item = agg:item()
print(agg_item, math.type(agg_item)) -- 12.0 float (Python: <class 'float'>)
print(agg)

-- tensor.add_(5): in place
print(string.format("%s \n", tensor))
tensor:add_(5)
print(tensor)

-- ---- 1-5. the NumPy bridge ---------------------------------------------------------------
section("1-5 NumPy bridge")
-- Lua has no NumPy: t:tolist() gives nested Lua tables (a copy) and torch.tensor(tbl) makes a
-- tensor from them (a copy). Unlike t.numpy() / torch.from_numpy, no memory is shared, so
-- an in-place add shows in the tensor only. (C code shares memory with nl_from_blob.)
local t = torch.ones(5)
print(string.format("t: %s", t))
local n = t:tolist() -- n = t.numpy()
print(string.format("n: [%s] \n", table.concat(n, " ")))
t:add_(1)
print(string.format("t: %s", t))
print(string.format("n: [%s]  (a copy: unchanged)", table.concat(n, " ")))
n = t:tolist()
print(string.format("n: [%s]  (after tolist() again)", table.concat(n, " ")))

-- n = np.ones(5); t = torch.from_numpy(n): float64, like NumPy's default
n = { 1, 1, 1, 1, 1 }
t = torch.tensor(n, { dtype = torch.float64 })
for i = 1, #n do n[i] = n[i] + 1 end -- np.add(n, 1, out=n)
t:add_(1)                            -- the tensor is a copy: update it too
print(string.format("t: %s", t))
print(string.format("n: [%s]", table.concat(n, " ")))

-- ---- GPU: moving a tensor ---------------------------------------------------------------
section("GPU")
-- device = "cuda" if torch.cuda.is_available() else "cpu"
local device = torch.cuda.is_available() and "cuda" or "cpu"
local g = torch.ones(2, 2):to(device)
print(string.format("device: %s, tensor on %s", device, g.device))
print(g:cpu())
