-- The API fuzzer (spec/fuzz/fuzz_api.lua) for a fixed seed and iteration count, run as a
-- subprocess of $NNLUA_BIN (set by scripts/run_tests.sh; the sanitizer build under make asan)
-- so that a crash or a sanitizer report fails this test instead of killing the runner. The
-- fuzzer itself checks that every error value is a non-empty string and exits 1 otherwise.

local BIN = dofile("spec/helpers.lua").BIN
local sanitized = BIN:find("asan", 1, true) ~= nil

local function run(seed, iterations)
  os.execute("mkdir -p spec/tmp")
  local out = string.format("spec/tmp/fuzz_spec_%d.out", seed)
  local log = string.format("spec/tmp/fuzz_spec_%d.log", seed)
  -- Huge mallocs return NULL (libc's behaviour) instead of the sanitizer aborting; the CPU
  -- cache is off so a use-after-free is not hidden by a parked block.
  -- The fuzzer calls torch.save, save_image and friends with random paths ("1", "int", ...):
  -- it runs inside its own scratch folder so those files never land in the source tree.
  local root = io.popen("pwd"):read("l")
  local scratch = string.format("%s/spec/tmp/fuzz_cwd_%d", root, seed)
  os.execute("rm -rf " .. scratch .. " && mkdir -p " .. scratch)
  out, log = root .. "/" .. out, root .. "/" .. log
  local cmd = string.format(
    "cd %s && NNLUA_CPU_CACHE_MB=0 OPENBLAS_NUM_THREADS=1 " ..
    "ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=1024:detect_leaks=1 " ..
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 " ..
    "%s %s/spec/fuzz/fuzz_api.lua --seed %d --iterations %d --quiet --log %s > %s 2>&1",
    scratch, BIN, root, seed, iterations, log, out)
  local ok, how, code = os.execute(cmd)
  local f = io.open(out, "r")
  local text = f and f:read("a") or ""
  if f then f:close() end
  return ok, how, code, text, log
end

describe("fuzz_api", function()
  -- ~2 calls per iteration; the sanitizer build is ~10x slower, so it gets fewer.
  local iterations = sanitized and 6000 or 10000
  for _, seed in ipairs({20240601, 7}) do
    it("seed " .. seed .. ": never crashes, every error is a non-empty string", function()
      local ok, how, code, text, log = run(seed, iterations)
      if not ok then
        local f = io.open(log, "r")
        local tail = ""
        if f then
          local lines = {}
          for l in f:lines() do lines[#lines + 1] = l end
          f:close()
          tail = table.concat(lines, "\n", math.max(1, #lines - 6))
        end
        error(string.format("fuzzer died (%s %s):\n%s\nlast steps (%s):\n%s", tostring(how),
                            tostring(code), text:sub(-3000), log, tail))
      end
      assert.truthy(text:find("fuzz_api: OK", 1, true), text)
      local calls = tonumber(text:match("(%d+) calls"))
      assert.truthy(calls and calls > iterations, text)
      assert.falsy(text:find("BAD ERROR", 1, true), text)
    end)
  end
end)
