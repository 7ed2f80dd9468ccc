-- The REPL for real: nnlua runs in a pseudo-terminal inside a detached tmux session (fixed
-- size, private socket); keys go in with send-keys and the screen comes back with
-- capture-pane. Pending when tmux is missing (scripts/setup.sh installs it).

local H = dofile("spec/helpers.lua")
local BIN, q = H.BIN, H.q

local function sh(cmd) return H.sh(cmd .. " 2>/dev/null") end

local function sleep(s) os.execute("sleep " .. s) end

local have_tmux = os.execute("command -v tmux >/dev/null 2>&1")

if not have_tmux then
  describe("nnlua REPL", function() pending("tmux is not installed (scripts/setup.sh installs it)") end)
  return
end

local SOCK = "nnlua_spec_" .. tostring(os.time()) .. "_" .. tostring(math.random(1e6))
local tmux = "tmux -L " .. SOCK .. " "
local tmpdir, history

local function send_keys(...) -- key names (Enter, Tab, C-c, Up)
  local keys = {}
  for i, k in ipairs({ ... }) do keys[i] = k end
  os.execute(tmux .. "send-keys -t repl " .. table.concat(keys, " "))
end

local function type_text(text) os.execute(tmux .. "send-keys -t repl -l " .. q(text)) end

local function line(text) -- types text and presses Enter
  type_text(text)
  send_keys("Enter")
end

-- The screen without trailing blank lines (capture-pane also drops trailing spaces, so an
-- empty prompt "> " reads as ">").
local function screen() return (sh(tmux .. "capture-pane -p -t repl -S -200"):gsub("%s+$", "\n")) end

-- Waits until the screen matches a Lua pattern (plain = true for a plain find).
local function wait_for(pattern, plain, timeout)
  for _ = 1, math.floor((timeout or 20) / 0.05) do
    local s = screen()
    if s:find(pattern, 1, plain) then return s end
    sleep(0.05)
  end
  error(("screen never showed %q; it shows:\n%s"):format(pattern, screen()), 2)
end

-- Prompts on the screen: "> " at the start of a line.
local function count_prompts(s)
  local n = 0
  for l in (s .. "\n"):gmatch("([^\n]*)\n") do
    if l:sub(1, 2) == "> " or l == ">" then n = n + 1 end
  end
  return n
end

local function wait_prompt(n) -- waits for the n-th prompt (generous: sanitizer builds start slowly)
  for _ = 1, 400 do
    local s = screen()
    if count_prompts(s) >= n then return s end
    sleep(0.05)
  end
  error("no prompt number " .. n .. " on the screen:\n" .. screen(), 2)
end

local function start()
  os.execute(tmux .. "kill-session -t repl >/dev/null 2>&1")
  local env = "env INPUTRC=/dev/null NNLUA_HISTORY=" .. q(history) .. " HOME=" .. q(tmpdir) .. " TERM=xterm"
  assert(os.execute(tmux .. "new-session -d -s repl -x 150 -y 50 " .. q(env .. " " .. q(BIN) .. "; sleep 60")))
  wait_prompt(1)
end

describe("nnlua REPL", function()
  setup(function()
    tmpdir = H.tmpdir()
    history = tmpdir .. "/history"
  end)

  teardown(function()
    os.execute(tmux .. "kill-server >/dev/null 2>&1")
    H.rmdir(tmpdir)
  end)

  before_each(function() os.remove(history); start() end)
  after_each(function() os.execute(tmux .. "kill-session -t repl >/dev/null 2>&1") end)

  it("prints the banner and the values of expressions", function()
    local s = screen()
    assert.is_truthy(s:find("^nnlua 0%.1%.0 %(Lua 5%.4"), s)
    line("1+1")
    wait_for("\n2\n", true)
    line("torch.zeros(2,3).shape")
    wait_for("torch.Size([2, 3])", true)
    line("1, 'two', nil")
    wait_for("\n1%s+two%s+nil\n") -- tabs come back from the screen as spaces
    line("x = 10") -- a statement prints nothing
    line("x * 3")
    local out = wait_for("\n30\n", true)
    assert.is_falsy(out:find("> x = 10\n[^>]", 1, false), out)
  end)

  it("reads multi-line input with the '>> ' prompt", function()
    line("function double(x)")
    wait_for("\n>>", true)
    line("return x * 2")
    line("end")
    wait_prompt(2)
    line("double(21)")
    wait_for("\n42\n", true)
    line("local t = {")
    line("1, 2,")
    line("3 }  print(#t)")
    wait_for("\n3\n", true)
  end)

  it("prints errors and stays alive", function()
    line("error('boom')")
    wait_for("boom", true)
    line("nil + 1")
    wait_for("attempt to perform arithmetic on a nil value", true)
    line("x = = 1")
    wait_for("unexpected symbol near '='", true)
    line("40 + 2")
    wait_for("\n42\n", true)
  end)

  it("completes globals, fields and methods with Tab", function()
    type_text("torch.zer")
    send_keys("Tab")
    wait_for("> torch.zeros", true)
    send_keys("C-a", "C-k")
    type_text("string.forma")
    send_keys("Tab")
    wait_for("> string.format", true)
    send_keys("C-a", "C-k")
    type_text("collectga")
    send_keys("Tab")
    wait_for("> collectgarbage", true)
    send_keys("C-a", "C-k")
    line("t = torch.zeros(2, 3)")
    type_text("t:nume")
    send_keys("Tab")
    wait_for("> t:numel", true)
    send_keys("C-a", "C-k")
    type_text("t.sha") -- attributes of a tensor (getters), nothing appended after them
    send_keys("Tab")
    wait_for("> t.shape", true)
    send_keys("Enter")
    wait_for("torch.Size([2, 3])", true)
    line("a = {b = {cdef = 1}}")
    type_text("a.b.cd")
    send_keys("Tab")
    wait_for("> a.b.cdef", true)
    send_keys("C-a", "C-k")
    line("'done'")
    wait_for("\ndone\n", true)
  end)

  it("drops the current input on Ctrl-C and goes on", function()
    type_text("this is not lua")
    send_keys("C-c")
    wait_for("not lua^C", true)
    line("function f()")
    wait_for("\n>>", true)
    send_keys("C-c")
    line("7 * 6")
    wait_for("\n42\n", true)
    line("for i = 1, math.huge do end")
    sleep(0.3)
    send_keys("C-c")
    wait_for("interrupted!", true)
    line("'alive'")
    wait_for("\nalive\n", true)
  end)

  it("writes the history file and reads it at start", function()
    line("1+1")
    wait_prompt(2)
    line("y = 'from history'")
    wait_prompt(3)
    local f = assert(io.open(history))
    local text = f:read("a")
    f:close()
    assert.is_truthy(text:find("1+1\n", 1, true), text)
    assert.is_truthy(text:find("y = 'from history'\n", 1, true), text)
    send_keys("C-d")
    sleep(0.2)
    start() -- a new REPL: the history is back (Up recalls the last entry)
    line("y = 'again'")
    send_keys("Up", "Up")
    send_keys("Enter")
    line("y")
    wait_for("\nfrom history\n", true)
  end)
end)
