-- stock_lua_test.lua: a stock lua5.4 loads nnlua as a C module (build/lua/torch.so).
--   lua5.4 spec/c/stock_lua_test.lua BUILD/lua
local dir = assert(arg[1], "usage: lua5.4 stock_lua_test.lua <folder of torch.so>")
package.cpath = dir .. "/?.so;" .. package.cpath
local torch = require "torch"
assert(type(torch) == "table", "require 'torch' did not return a table")
local t = torch.zeros(2, 3)
assert(t:numel() == 6 and t:size(1) == 2, "zeros(2, 3) has the wrong size")
assert(tostring(t.shape) == "torch.Size([2, 3])", tostring(t.shape))
assert(torch.full({2}, 1.5).dtype == "float32")
assert(type(require "nn") == "table", "require 'nn' through nn.so")
assert(type(require "optim") == "table" and type(require "data") == "table")
assert(rawget(_G, "torch") == nil, "the module must not set globals")
print("stock lua5.4: ok")
