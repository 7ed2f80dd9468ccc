-- nn: filled in by later issues (see shared/API.md).
local nn = {}
return nn
