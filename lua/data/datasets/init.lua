-- data.datasets: MNIST FashionMNIST CIFAR10.
return {
  MNIST = require "data.datasets.MNIST",
  FashionMNIST = require "data.datasets.FashionMNIST",
  CIFAR10 = require "data.datasets.CIFAR10",
}
