-- png_spec: save_image writes real PNG files (zlib deflate + CRC32); data._C.png_read decodes
-- them (checking every chunk's CRC) and the pixels come back.
local C = require "data._C"

local function tmpfile() local p = os.tmpname(); return p .. ".png" end

local read_bytes = dofile("spec/helpers.lua").readfile

describe("PNG", function()
  it("round-trips a grayscale image (uint8 (1, H, W))", function()
    local t = torch.arange(0, 35):remainder(256):to("uint8"):view(1, 5, 7):mul(7)
    local p = tmpfile()
    data.utils.save_image(t, p)
    local s = read_bytes(p)
    assert.equal("\137PNG\r\n\26\n", s:sub(1, 8))
    assert.equal("IHDR", s:sub(13, 16))
    local w, h, depth, ctype = string.unpack(">I4I4BB", s, 17)
    assert.same({ 7, 5, 8, 0 }, { w, h, depth, ctype })
    local back = C.png_read(p)
    assert.same({ 5, 7, 1 }, { back:size(1), back:size(2), back:size(3) })
    assert.is_true(torch.equal(back:permute(3, 1, 2), t))
    os.remove(p)
  end)

  it("round-trips float RGB in [0, 1] (x * 255 + 0.5, clamped)", function()
    local t = torch.tensor({ { { 0, 0.5, 1, 2 } }, { { -1, 0.25, 0.75, 0.1 } }, { { 1, 1, 0, 0.002 } } })
    local p = tmpfile()
    data.utils.save_image(t, p)
    local back = C.png_read(p):permute(3, 1, 2)
    assert.same({ 0, 128, 255, 255, 0, 64, 191, 26, 255, 255, 0, 1 }, torch._flat_values(back))
    os.remove(p)
  end)

  it("detects a corrupted CRC", function()
    local p = tmpfile()
    data.utils.save_image(torch.zeros(1, 2, 2, { dtype = "uint8" }), p)
    local s = read_bytes(p)
    local f = assert(io.open(p, "wb"))
    f:write(s:sub(1, 29) .. string.char((s:byte(30) + 1) % 256) .. s:sub(31)) -- flip a byte of IHDR's CRC
    f:close()
    local ok, e = pcall(C.png_read, p)
    assert.is_false(ok)
    assert.matches("CRC mismatch", e, 1, true)
    os.remove(p)
  end)

  it("saves a batch as a grid", function()
    local b = torch.zeros(3, 1, 2, 2)
    b[2] = 1
    local p = tmpfile()
    data.utils.save_image(b, p, { nrow = 3, padding = 1 })
    local back = C.png_read(p)
    -- grid: 3 channels, H = 2 + 2*1 = 4, W = 3*(2+1) + 1 = 10
    assert.same({ 4, 10, 3 }, { back:size(1), back:size(2), back:size(3) })
    assert.equal(255, back[2][5][1]:item())
    assert.equal(0, back[2][2][1]:item())
    os.remove(p)
  end)

  it("rejects bad arguments", function()
    local ok, e = pcall(data.utils.save_image, torch.zeros(2, 3, 3), "/tmp/x.png")
    assert.is_false(ok)
    assert.matches("expected 1, 3 or 4 channels, got 2", e, 1, true)
    ok, e = pcall(data.utils.save_image, torch.zeros(1, 3, 3), "/nonexistent/dir/x.png")
    assert.is_false(ok)
    assert.matches("cannot open /nonexistent/dir/x.png", e, 1, true)
  end)
end)
