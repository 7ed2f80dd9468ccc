-- data: datasets, loaders and transforms (torch.utils.data + a slice of torchvision).
local data = {}

data.Dataset = require "data.Dataset"
data.TensorDataset = require "data.TensorDataset"
data.Subset = require "data.Subset"
data.DataLoader = require "data.DataLoader"
data.DistributedSampler = require "data.DistributedSampler"
data.default_collate = data.DataLoader.default_collate
data.utils = require "data.utils"
data.random_split = data.utils.random_split
data.transforms = require "data.transforms"
data.datasets = require "data.datasets"
data.progress = require "data.progress"
-- data.Generator(seed): the loaders' generator (splitmix64): :manual_seed(s), :initial_seed(),
-- :randperm(n) (1..n), :random() (U[0, 1)), :seed() (a fresh 63-bit integer).
data.Generator = require("data._C").Generator

return data
