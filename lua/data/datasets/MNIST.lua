-- data.datasets.MNIST {root=, train=true, transform=, target_transform=, download=false}:
-- the IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-*; plain or .gz),
-- decoded in C into ds.data uint8 (N, 28, 28) and ds.targets int64 (N) with labels 1..10.
-- ds:get(i) returns the image (uint8 (28, 28), or transform(image)) and the label (an integer).
local C = require "data._C"
local Dataset = require "data.Dataset"

local MNIST = Dataset:extend("MNIST")
MNIST.default_root = "data/MNIST/raw"
MNIST.file_kind = "an IDX file of unsigned bytes"
MNIST.source = "http://yann.lecun.com/exdb/mnist/ (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz)"
MNIST.classes = { "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
  "7 - seven", "8 - eight", "9 - nine" }

local function exists(p)
  local f = io.open(p, "rb")
  if f then f:close() return true end
  return false
end

function MNIST:_find(root, name)
  for _, p in ipairs { root .. "/" .. name, root .. "/" .. name .. ".gz" } do
    if exists(p) then return p end
  end
  error(string.format("%s: cannot find %s/%s[.gz] (%s); get the files from %s and pass {root=<folder>}",
    self.__name, root, name, self.file_kind, self.source), 0)
end

function MNIST:__init(o)
  o = o or {}
  if type(o) == "string" then o = { root = o } end
  local root = o.root or self.default_root
  local train = o.train == nil and true or o.train
  if o.download then
    io.stderr:write(string.format("%s: download is not supported (no network access in nnlua); reading %s\n", self.__name, root))
  end
  self.root, self.train = root, train
  self.transform, self.target_transform = o.transform, o.target_transform
  local prefix = train and "train" or "t10k"
  local ipath = self:_find(root, prefix .. "-images-idx3-ubyte")
  local lpath = self:_find(root, prefix .. "-labels-idx1-ubyte")
  local ok, images = pcall(C.read_idx, ipath, 3)
  if not ok then error(string.format("%s: %s; expected the %s images (magic 2051, N x 28 x 28); get them from %s", self.__name, images, prefix, self.source), 0) end
  local n = images:size(1)
  local ok2, labels = pcall(C.read_idx, lpath, 1, n)
  if not ok2 then error(string.format("%s: %s; expected %d %s labels (magic 2049); get them from %s", self.__name, labels, n, prefix, self.source), 0) end
  local lmax = labels:max():item()
  if n > 0 and lmax > 9 then error(string.format("%s: %s: label %d outside 0..9", self.__name, lpath, lmax), 0) end
  self.data = images
  self.targets = labels:long():add(1)
end

function MNIST:__len() return self.data:size(1) end

function MNIST:get(i)
  i = self:_check_index(i)
  local x, y = self.data[i], self.targets[i]:item()
  if self.transform then x = self.transform(x) end
  if self.target_transform then y = self.target_transform(y) end
  return x, y
end

function MNIST:__tostring()
  return string.format("Dataset %s\n    Number of datapoints: %d\n    Root location: %s\n    Split: %s",
    self.__name, #self, self.root, self.train and "Train" or "Test")
end

-- DataLoader fast path: images and targets gathered in C, built-in transforms batched.
function MNIST:_fast()
  if self.target_transform then return nil end
  local tfs
  if self.transform then
    tfs = type(self.transform) == "table" and self.transform._batched and self.transform:_batched()
    if not tfs then return nil end
  end
  return { sources = { self.data, self.targets }, tsrc = tfs and 1 or 0, tfs = tfs }
end

return MNIST
