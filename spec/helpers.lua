-- Shared helpers for specs that run the nnlua binary as a subprocess or use files:
--   local H = dofile("spec/helpers.lua")
-- (no _spec suffix, so busted does not run it as a spec).
local H = {}

-- p made absolute against $PWD (the subprocesses may run in another directory)
function H.absolute(p)
  if p:sub(1, 1) == "/" then return p end
  return (os.getenv("PWD") or ".") .. "/" .. p
end

-- The nnlua binary: $NNLUA_BIN (set by scripts/run_tests.sh), else the interpreter running
-- busted (busted --lua=build/nnlua re-runs itself as `build/nnlua busted ...`, so it is one of
-- arg[-1..-5]), else build/nnlua; always an absolute path.
function H.find_bin()
  local env = os.getenv("NNLUA_BIN")
  if env and env ~= "" then return H.absolute(env) end
  for i = -1, -5, -1 do
    local a = arg and arg[i]
    if a and a:match("nnlua$") then return H.absolute(a) end
  end
  return H.absolute("build/nnlua")
end

H.BIN = H.find_bin()

-- s quoted for sh: 'it'\''s'
function H.q(s) return "'" .. tostring(s):gsub("'", [['\'']]) .. "'" end

-- the whole stdout of a shell command
function H.sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("a")
  p:close()
  return out
end

-- H.run(script, args, env) runs `env nnlua script args 2>&1` -> combined output, exit status.
-- script is quoted; args and env (strings, may be nil: "NNLUA_GEMM=openblas") go to the shell
-- as they are.
function H.run(script, args, env)
  local out = H.sh(table.concat({ env or "", H.q(H.BIN), H.q(script), args or "", "2>&1; echo \"__rc=$?\"" }, " "))
  local code = tonumber(out:match("__rc=(%d+)%s*$"))
  return (out:gsub("__rc=%d+%s*$", "")), code
end

-- a new empty directory under /tmp (the caller removes it with H.rmdir)
function H.tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -p " .. H.q(d)), "mkdir " .. d .. " failed")
  return d
end

function H.rmdir(d)
  if d then os.execute("chmod -R u+w " .. H.q(d) .. " 2>/dev/null; rm -rf " .. H.q(d)) end
end

function H.readfile(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

function H.writefile(p, s)
  local f = assert(io.open(p, "wb"))
  f:write(s)
  f:close()
end

function H.exists(p)
  local f = io.open(p, "rb")
  if f then f:close() return true end
  return false
end

return H
