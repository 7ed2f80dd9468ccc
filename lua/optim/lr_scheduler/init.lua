-- optim.lr_scheduler: learning-rate schedulers (PyTorch 1.13's torch.optim.lr_scheduler).
return {
  LRScheduler = require "optim.lr_scheduler.LRScheduler",
  StepLR = require "optim.lr_scheduler.StepLR",
  MultiStepLR = require "optim.lr_scheduler.MultiStepLR",
  ExponentialLR = require "optim.lr_scheduler.ExponentialLR",
  CosineAnnealingLR = require "optim.lr_scheduler.CosineAnnealingLR",
  OneCycleLR = require "optim.lr_scheduler.OneCycleLR",
  LinearLR = require "optim.lr_scheduler.LinearLR",
  ReduceLROnPlateau = require "optim.lr_scheduler.ReduceLROnPlateau",
}
