-- data.progress(loader or n, {label=, every=10 (percent), interval=10 (seconds), out=io.stderr}):
-- a progress display for long loops. On a terminal (stderr is a tty) a bar redrawn in place;
-- otherwise a line every `every` percent or `interval` seconds. Shows items/s and the ETA.
--   for i, x, y in data.progress(loader):iter() do ... end     -- wraps a DataLoader
--   local p = data.progress(1000); for i = 1, 1000 do ...; p:update(i) end; p:finish()
local C = require "data._C"
local class = require "torch.class"

local Progress = class("Progress")

local function fmt_time(s)
  if s ~= s or s == math.huge then return "?" end
  s = math.floor(s + 0.5)
  if s >= 3600 then return string.format("%d:%02d:%02d", s // 3600, s % 3600 // 60, s % 60) end
  return string.format("%02d:%02d", s // 60, s % 60)
end

function Progress:__init(src, o)
  o = o or {}
  if type(src) == "number" then self.total = src else self.loader = src; self.total = #src end
  self.label = o.label or "progress"
  self.out = o.out or io.stderr
  self.tty = o.tty
  if self.tty == nil then self.tty = self.out == io.stderr and C.isatty(2) end
  self.every, self.interval = o.every or 10, o.interval or 10
end

function Progress:start()
  self.t0 = torch.time()
  self.last_t, self.last_pct, self.done = self.t0, 0, 0
  return self
end

function Progress:_line(i)
  local el = torch.time() - self.t0
  local rate = el > 0 and i / el or 0
  local eta = rate > 0 and (self.total - i) / rate or math.huge
  local pct = self.total > 0 and 100 * i / self.total or 100
  return pct, string.format("%s %d/%d (%3.0f%%) %.1f it/s, elapsed %s, ETA %s", self.label, i, self.total, pct,
    rate, fmt_time(el), fmt_time(eta))
end

function Progress:update(i)
  if not self.t0 then self:start() end
  self.done = i
  local pct, line = self:_line(i)
  local now = torch.time()
  if self.tty then
    if now - self.last_t >= 0.1 or i == self.total then
      local width = 30
      local fill = self.total > 0 and math.floor(width * i / self.total) or width
      self.out:write(string.format("\r[%s%s] %s", string.rep("#", fill), string.rep(".", width - fill), line))
      self.out:flush()
      self.last_t = now
    end
  elseif pct >= self.last_pct + self.every or now - self.last_t >= self.interval or i == self.total then
    self.out:write(line, "\n")
    self.out:flush()
    self.last_pct, self.last_t = pct - pct % self.every, now
  end
end

function Progress:finish()
  if self.tty then self.out:write("\n") end
end

function Progress:__len() return self.total end

-- iter(): the wrapped loader's iterator, updating the display after each batch; passes on
-- the loader's closing value (its worker threads stop when the for loop is left early).
function Progress:iter()
  if not self.loader then error("progress: iter() needs a loader", 2) end
  local it, _, _, closing = self.loader:iter({ no_progress = true })
  self:start()
  return function()
    local r = table.pack(it())
    if r[1] == nil then self:finish() return nil end
    self:update(r[1])
    return table.unpack(r, 1, r.n)
  end, nil, nil, closing
end

return Progress
