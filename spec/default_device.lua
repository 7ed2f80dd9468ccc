-- busted --helper for scripts/run_tests.sh: NNLUA_TEST_DEVICE=cuda runs every spec with cuda
-- as the default device of the creation functions (torch.set_default_device), so the CPU
-- suite doubles as a device suite on a GPU machine (scripts/gpu/run.sh). Unset: nothing.
local d = os.getenv("NNLUA_TEST_DEVICE")
if d and d ~= "" then torch.set_default_device(d) end
