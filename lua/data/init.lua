-- data: filled in by later issues (see shared/API.md).
local data = {}
return data
