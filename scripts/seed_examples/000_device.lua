-- Seeds 000 / 002 / 004: picking the device and moving models and tensors to it.
--   build/nnlua scripts/seed_examples/000_device.lua

-- device = "cuda" if torch.cuda.is_available() else "cpu"
local device = torch.cuda.is_available() and "cuda" or "cpu"
print(device)

-- seed 002: ("cuda" if ... else "mps" if torch.backends.mps.is_available() else "cpu"):
-- nnlua has no MPS backend, so the idiom reduces to the one above.
print(string.format("Using %s device", device))

-- seed 004: device = torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')
-- devices are strings in nnlua
local device0 = torch.cuda.is_available() and "cuda:0" or "cpu"
print(device0)

-- net = Net().to(device); inp = torch.randn(1, 1, 32, 32).to(device)
local net = nn.Linear(4, 2):to(device)
local inp = torch.randn(1, 4):to(device)
local out = net(inp)
print(out.device, out.shape)
-- inputs, labels = data[0].to(device), data[1].to(device)
local batch = { torch.randn(2, 4), torch.tensor({ 1, 2 }) }
local inputs, labels = batch[1]:to(device), batch[2]:to(device)
print(inputs.device, labels.device, labels.dtype)
-- back to the CPU for printing or tolist: t.cpu()
print(out:cpu():detach())
