-- optim: optimizers and learning-rate schedulers (shared/API.md "optim"). Each optimizer
-- step runs one multi-tensor C call per parameter group (nn/optim_update.c).
local optim = {}
optim.Optimizer = require "optim.Optimizer"
optim.SGD = require "optim.SGD"
optim.Adam = require "optim.Adam"
optim.AdamW = require "optim.AdamW"
optim.RMSprop = require "optim.RMSprop"
optim.Adagrad = require "optim.Adagrad"
optim.Adadelta = require "optim.Adadelta"
optim.lr_scheduler = require "optim.lr_scheduler"
return optim
