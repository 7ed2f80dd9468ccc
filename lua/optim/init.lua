-- optim: filled in by later issues (see shared/API.md).
local optim = {}
return optim
