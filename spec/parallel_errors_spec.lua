-- Errors found on the parallel (OpenMP) paths come back as Lua errors naming the op and value
-- (issue 10): indices are checked by the front ends before the threaded kernels run.
describe("errors on the parallel paths", function()
  local x = torch.randn(2000, 1000) -- 2M elements: the OpenMP path
  local idx = torch.ones(2000, 1000, {dtype = "int64"})
  idx[{1500, 700}] = 5000

  it("gather / scatter_ / index_select with one bad index in a large tensor", function()
    assert.has_error(function() torch.gather(x, 2, idx) end,
      "gather: index 5000 is out of range for dim 2 of size 1000 (expected 1..1000)")
    assert.has_error(function() torch.zeros(2000, 1000):scatter_(2, idx, 1.0) end,
      "scatter: index 5000 is out of range for dim 2 of size 1000 (expected 1..1000)")
    assert.has_error(function() torch.index_select(x, 1, torch.tensor({1, 3000})) end,
      "index_select: index 3000 is out of range for dim 1 of size 2000 (expected 1..2000)")
  end)

  it("losses with one out-of-range target in a large batch", function()
    local y = torch.ones(100000, {dtype = "int64"}):index_fill_(1, torch.tensor({77777}), 11)
    local ok, e = pcall(nn.functional.nll_loss, torch.randn(100000, 10), y)
    assert.is_false(ok)
    assert.truthy(e:find("nll_loss: target 11 is out of range for 10 classes", 1, true), e)
    ok, e = pcall(nn.functional.cross_entropy, torch.randn(100000, 10), y:fill_(0))
    assert.is_false(ok)
    assert.truthy(e:find("cross_entropy: target 0 is out of range for 10 classes", 1, true), e)
  end)
end)
