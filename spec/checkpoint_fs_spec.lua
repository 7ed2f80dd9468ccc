-- torch.save on real failing file systems (issue 10): a read-only mount and a full one.
-- The spec mounts two small tmpfs folders (root only: CI and the developers' machines run as
-- root; elsewhere the cases are pending) and checks that the errors say what happened and
-- that the checkpoint already there survives. The injected-failure cases (any byte offset)
-- are in checkpoint_spec.lua; these prove the real errno paths.
local H = dofile("spec/helpers.lua")

local dir, mounted = nil, {}

local function mount(name, opts)
  local m = dir .. "/" .. name
  os.execute("mkdir -p " .. H.q(m))
  local ok = os.execute("mount -t tmpfs -o " .. opts .. " tmpfs " .. H.q(m) .. " 2>/dev/null")
  if ok ~= true then return nil end
  mounted[#mounted + 1] = m
  return m
end

setup(function() dir = H.tmpdir() end)
teardown(function()
  for _, m in ipairs(mounted) do os.execute("umount " .. H.q(m) .. " 2>/dev/null") end
  H.rmdir(dir)
end)

local function state(n, v) return { w = torch.full({ n }, v), step = v } end

describe("torch.save on failing file systems", function()
  it("says 'No space left on device' on a full disk and keeps the old checkpoint", function()
    local m = mount("full", "size=256k")
    if not m then return pending("cannot mount a tmpfs here (not root)") end
    local p = m .. "/ckpt.safetensors"
    torch.save(state(1000, 1), p) -- 4 kB: fits
    local ok, err = pcall(torch.save, state(200000, 2), p) -- 800 kB: does not
    assert.is_false(ok)
    assert.matches("torch.save: cannot write '.*ckpt.safetensors': No space left on device", err)
    local r = torch.load(p)
    assert.are.equal(1, r.step)
    assert.is_true(torch.equal(r.w, torch.full({ 1000 }, 1)))
    -- the failed temporary was removed: the space is free again for a save that fits
    assert.is_nil(H.sh("ls -a " .. H.q(m)):find(".tmp.", 1, true))
    torch.save(state(1000, 3), p)
    assert.are.equal(3, torch.load(p).step)
    -- the same for .npy
    local ok2, err2 = pcall(torch.save, torch.zeros(200000), m .. "/t.npy")
    assert.is_false(ok2)
    assert.matches("No space left on device", err2, 1, true)
  end)

  it("says 'Read-only file system' on a read-only mount and leaves its file alone", function()
    local m = mount("ro", "size=64k")
    if not m then return pending("cannot mount a tmpfs here (not root)") end
    local p = m .. "/ckpt.safetensors"
    torch.save(state(10, 1), p)
    assert.is_true(os.execute("mount -o remount,ro " .. H.q(m) .. " 2>/dev/null") == true)
    local ok, err = pcall(torch.save, state(10, 2), p)
    assert.is_false(ok)
    assert.matches("torch.save: cannot write '.*ckpt.safetensors': Read%-only file system", err)
    assert.are.equal(1, torch.load(p).step)
  end)
end)
