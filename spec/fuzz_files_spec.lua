-- The file-reader fuzzer (spec/fuzz/fuzz_files.lua) for a fixed seed and a ~10 s budget, run as
-- a subprocess of $NNLUA_BIN so that a crash or a sanitizer report fails this test instead of
-- killing the runner. Under the sanitizer build an absurd allocation aborts (max_allocation_size_mb
-- with allocator_may_return_null=0): the readers must check lengths against the file first.

local BIN = dofile("spec/helpers.lua").BIN

describe("fuzz_files", function()
  it("seed 20240602: every mutated file loads or raises a string error", function()
    local root = io.popen("pwd"):read("l")
    local dir = root .. "/spec/tmp/fuzz_files_spec"
    local out = dir .. ".out"
    os.execute("rm -rf " .. dir .. " && mkdir -p " .. dir)
    local cmd = string.format(
      "cd %s && NNLUA_CPU_CACHE_MB=0 OPENBLAS_NUM_THREADS=1 " ..
      "ASAN_OPTIONS=allocator_may_return_null=0:max_allocation_size_mb=512:detect_leaks=1 " ..
      "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 " ..
      "%s %s/spec/fuzz/fuzz_files.lua --seed 20240602 --seconds 10 --quiet --dir %s > %s 2>&1",
      dir, BIN, root, dir, out)
    local ok, how, code = os.execute(cmd)
    local f = io.open(out, "r")
    local text = f and f:read("a") or ""
    if f then f:close() end
    assert.truthy(ok, string.format("fuzz_files died (%s %s):\n%s\n(input: %s/current.*)",
      tostring(how), tostring(code), text:sub(-3000), dir))
    assert.truthy(text:find("fuzz_files: OK", 1, true), text)
    local execs = tonumber(text:match("(%d+) execs"))
    assert.truthy(execs and execs >= 600, text)
    os.execute("rm -rf " .. dir)
  end)
end)
