-- The nnlua host (vm/main.c) from the outside: options, arg, exit status, error reports,
-- stdin, LUA_INIT, require from the script's folder, Ctrl-C. Runs the binary in $NNLUA_BIN
-- (set by scripts/run_tests.sh), else the interpreter running busted, else build/nnlua.

local H = dofile("spec/helpers.lua")
local BIN, q, slurp, write = H.BIN, H.q, H.readfile, H.writefile

local tmpdir
local function tmp(name) return tmpdir .. "/" .. name end

-- run("-e 'print(1)'", {stdin = "text", cd = dir, env = "VAR=x"}) -> {out, err, code}
local function run(args, opts)
  opts = opts or {}
  local out, err, inp = tmp("stdout"), tmp("stderr"), tmp("stdin")
  write(inp, opts.stdin or "")
  local cmd = (opts.cd and ("cd " .. q(opts.cd) .. " && ") or "") .. (opts.env and (opts.env .. " ") or "")
    .. q(BIN) .. " " .. args .. " <" .. q(inp) .. " >" .. q(out) .. " 2>" .. q(err)
  local _, _, code = os.execute(cmd)
  return { out = slurp(out), err = slurp(err), code = code }
end

local function lines(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

describe("nnlua host", function()
  setup(function()
    tmpdir = H.tmpdir()
  end)

  teardown(function()
    H.rmdir(tmpdir)
  end)

  it("finds the binary", function()
    assert.is_truthy(io.open(BIN, "rb"), "no nnlua binary at " .. BIN)
  end)

  it("runs -e statements in order", function()
    local r = run([[-e 'print(1+1)' -e 'x = 5' -e 'print(x)']])
    assert.are.equal(0, r.code)
    assert.are.equal("2\n5\n", r.out)
    assert.are.equal("", r.err)
  end)

  it("preloads torch, nn, optim and data as globals", function()
    local r = run([[-e 'print(type(torch), type(nn), type(optim), type(data), tostring(torch.zeros(2, 3).shape))']])
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("table\ttable\ttable\ttable\ttorch.Size([2, 3])\n", r.out)
  end)

  it("gives a script arg[0..n], negative options and ...", function()
    write(tmp("args.lua"), [[
print(arg[0], arg[1], arg[2], #arg)
print(select("#", ...), ...)
print(arg[-1], arg[-2] ~= nil)
]])
    local r = run("-e 'x=1' " .. q(tmp("args.lua")) .. " one 'two words'")
    assert.are.equal(0, r.code, r.err)
    local l = lines(r.out)
    assert.are.equal(tmp("args.lua") .. "\tone\ttwo words\t2", l[1])
    assert.are.equal("2\tone\ttwo words", l[2])
    assert.are.equal("x=1\ttrue", l[3]) -- arg[-1] = 'x=1', arg[-2] = '-e'
  end)

  it("exits 1 with 'nnlua: message' and a traceback when a script fails", function()
    write(tmp("fail.lua"), [[
local function inner() error("bad thing happened") end
inner()
]])
    local r = run(q(tmp("fail.lua")))
    assert.are.equal(1, r.code)
    assert.are.equal("", r.out)
    assert.is_truthy(r.err:find("^nnlua: [^\n]*fail%.lua:1: bad thing happened\n"), r.err)
    assert.is_truthy(r.err:find("stack traceback:", 1, true), r.err)
    assert.is_truthy(r.err:find("in local 'inner'", 1, true) or r.err:find("inner", 1, true), r.err)
  end)

  it("reports non-string error objects", function()
    local r = run([[-e 'error({})']])
    assert.are.equal(1, r.code)
    assert.is_truthy(r.err:find("^nnlua: %(error object is a table value%)"), r.err)
    r = run([[-e 'error(setmetatable({}, {__tostring = function() return "custom" end}))']])
    assert.are.equal(1, r.code)
    assert.are.equal("nnlua: custom\n", r.err)
  end)

  it("runs stdin with '-' and passes arguments", function()
    local r = run("- a b", { stdin = "print(...)\nprint(arg[0], arg[1])\n" })
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("a\tb\n-\ta\n", r.out)
  end)

  it("runs stdin as a script when it is not a terminal and no script is given", function()
    local r = run("", { stdin = "print(6 * 7)\n" })
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("42\n", r.out)
  end)

  it("treats what follows -- as the script", function()
    write(tmp("dd.lua"), "print('dd', ...)\n")
    local r = run("-- " .. q(tmp("dd.lua")) .. " -x")
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("dd\t-x\n", r.out)
  end)

  it("prints the version with -v", function()
    local r = run("-v")
    assert.are.equal(0, r.code)
    assert.is_truthy(r.out:find("^nnlua 0%.1%.0 %(Lua 5%.4%.%d+, OpenBLAS [^\n]*%)\n$"), r.out)
  end)

  it("requires modules with -l mod and -l g=mod", function()
    write(tmp("mymod.lua"), "return { answer = 42 }\n")
    local r = run([[-l mymod -l m2=mymod -l t=torch -e 'print(mymod.answer, m2.answer, t == torch)']], { cd = tmpdir })
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("42\t42\ttrue\n", r.out)
    r = run([[-l no_such_module_xyz]])
    assert.are.equal(1, r.code)
    assert.is_truthy(r.err:find("^nnlua: module 'no_such_module_xyz' not found"), r.err)
  end)

  it("enters the REPL after a script with -i", function()
    write(tmp("state.lua"), "x = 21\n")
    local r = run("-i " .. q(tmp("state.lua")), { stdin = "x * 2\nerror('oops')\nprint('still here')\n" })
    assert.are.equal(0, r.code, r.err)
    assert.is_truthy(r.out:find("^nnlua 0%.1%.0")) -- -i implies -v
    assert.is_truthy(r.out:find("> 42\n", 1, true), r.out)
    assert.is_truthy(r.out:find("still here\n", 1, true), r.out)
    assert.is_truthy(r.err:find("oops", 1, true), r.err)
  end)

  it("rejects an unknown option with one line and the usage, exit 1", function()
    local r = run("-x")
    assert.are.equal(1, r.code)
    assert.are.equal("", r.out)
    local l = lines(r.err)
    assert.are.equal("nnlua: unrecognized option '-x'", l[1])
    assert.are.equal("usage: nnlua [options] [script [args]]", l[2])
    r = run("-e")
    assert.are.equal(1, r.code)
    assert.are.equal("nnlua: '-e' needs argument", lines(r.err)[1])
  end)

  it("reports a missing script in one line, exit 1", function()
    local r = run(q(tmp("does_not_exist.lua")))
    assert.are.equal(1, r.code)
    assert.are.equal("", r.out)
    assert.are.equal(1, #lines(r.err))
    assert.is_truthy(r.err:find("^nnlua: cannot open [^\n]*does_not_exist%.lua"), r.err)
  end)

  it("reports a syntax error in one line, exit 1", function()
    write(tmp("syntax.lua"), "print('ok')\nlocal x = = 2\n")
    local r = run(q(tmp("syntax.lua")))
    assert.are.equal(1, r.code)
    assert.are.equal("", r.out)
    assert.are.equal(1, #lines(r.err), r.err)
    assert.is_truthy(r.err:find("^nnlua: [^\n]*syntax%.lua:2: unexpected symbol near '='"), r.err)
  end)

  it("finds modules in the script's folder first", function()
    os.execute("mkdir -p " .. q(tmp("proj/scripts/models/pkg")) .. " " .. q(tmp("elsewhere")))
    write(tmp("proj/scripts/models/lenet.lua"), "return { name = 'lenet' }\n")
    write(tmp("proj/scripts/models/pkg/init.lua"), "return { name = 'pkg' }\n")
    write(tmp("proj/scripts/x.lua"), [[
local lenet = require "models.lenet"
local pkg = require "models.pkg"
print(lenet.name, pkg.name)
]])
    local r = run("../proj/scripts/x.lua", { cd = tmp("elsewhere") })
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("lenet\tpkg\n", r.out)
  end)

  it("runs LUA_INIT (code or @file) unless -E", function()
    local r = run([[-e 'print(init_x)']], { env = "LUA_INIT='init_x = 5'" })
    assert.are.equal("5\n", r.out)
    write(tmp("init.lua"), "init_x = 'from file'\n")
    r = run([[-e 'print(init_x)']], { env = "LUA_INIT=@" .. q(tmp("init.lua")) })
    assert.are.equal("from file\n", r.out)
    r = run([[-E -e 'print(init_x)']], { env = "LUA_INIT='init_x = 5'" })
    assert.are.equal("nil\n", r.out)
    r = run([[-e 'print(1)']], { env = "LUA_INIT='error(\"in init\")'" })
    assert.are.equal(1, r.code)
    assert.is_truthy(r.err:find("in init", 1, true))
  end)

  it("ignores LUA_PATH with -E", function()
    local r = run([[-E -e 'print(package.path:find("/nowhere/", 1, true) == nil)']], { env = "LUA_PATH='/nowhere/?.lua'" })
    assert.are.equal("true\n", r.out)
    r = run([[-e 'print(package.path:find("/nowhere/", 1, true) ~= nil)']], { env = "LUA_PATH='/nowhere/?.lua'" })
    assert.are.equal("true\n", r.out)
  end)

  it("turns Ctrl-C into the error 'interrupted!'", function()
    write(tmp("loop.lua"), "print('started'); io.stdout:flush(); while true do end\n")
    local out, err = tmp("loop.out"), tmp("loop.err")
    local cmd = q(BIN) .. " " .. q(tmp("loop.lua")) .. " >" .. q(out) .. " 2>" .. q(err) .. " & pid=$!; "
      .. "i=0; while [ ! -s " .. q(out) .. " ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; "
      .. "kill -INT $pid; wait $pid"
    local _, _, code = os.execute(cmd)
    assert.are.equal(1, code)
    assert.are.equal("started\n", slurp(out))
    assert.is_truthy(slurp(err):find("^nnlua: [^\n]*interrupted!"), slurp(err))
  end)
end)
