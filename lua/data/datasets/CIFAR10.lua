-- data.datasets.CIFAR10 {root=, train=true, transform=, target_transform=}: the binary
-- version (data_batch_1.bin .. data_batch_5.bin, test_batch.bin, plain or .gz; records of
-- 1 label byte + 3072 pixel bytes). ds.data uint8 (N, 3, 32, 32), ds.targets int64 1..10.
-- root may be the folder holding the .bin files or its parent (cifar-10-batches-bin/).
local C = require "data._C"
local MNIST = require "data.datasets.MNIST"

local CIFAR10 = MNIST:extend("CIFAR10")
CIFAR10.default_root = "data"
CIFAR10.file_kind = "a CIFAR-10 binary batch"
CIFAR10.source = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz (the CIFAR-10 binary version; " ..
  "unpack it and pass {root=<folder with data_batch_1.bin>})"
CIFAR10.classes = { "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck" }

function CIFAR10:__init(o)
  o = o or {}
  if type(o) == "string" then o = { root = o } end
  local root = o.root or self.default_root
  local train = o.train == nil and true or o.train
  self.root, self.train = root, train
  self.transform, self.target_transform = o.transform, o.target_transform
  local names = train and { "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
    "data_batch_5.bin" } or { "test_batch.bin" }
  local f = io.open(root .. "/cifar-10-batches-bin/" .. names[1], "rb") or io.open(root .. "/cifar-10-batches-bin/" .. names[1] .. ".gz", "rb")
  if f then f:close(); root = root .. "/cifar-10-batches-bin" end
  local paths = {}
  for k, name in ipairs(names) do paths[k] = self:_find(root, name) end
  local ok, images, labels = pcall(C.read_cifar, paths)
  if not ok then error(string.format("%s: %s; get the data from %s", self.__name, images, self.source), 0) end
  self.data, self.targets = images, labels
end

return CIFAR10
