-- data.datasets.FashionMNIST: MNIST's format and API; the default root is where the Debian
-- package dataset-fashion-mnist installs the files.
local MNIST = require "data.datasets.MNIST"

local FashionMNIST = MNIST:extend("FashionMNIST")
FashionMNIST.default_root = "/usr/share/datasets/fashion-mnist"
FashionMNIST.source = "the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist, into " ..
  "/usr/share/datasets/fashion-mnist) or https://github.com/zalandoresearch/fashion-mnist"
FashionMNIST.classes = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
  "Sneaker", "Bag", "Ankle boot" }

return FashionMNIST
