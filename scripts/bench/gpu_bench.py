#!/usr/bin/python3
# PyTorch reference for scripts/bench/gpu_bench.lua: the same training steps (forward +
# cross_entropy + backward + SGD step, float32) on the same GPU. Prints "name ms_per_step".
# resnet18 is torchvision's when installed (skipped otherwise).
import time, torch
import torch.nn as nn
import torch.nn.functional as F
assert torch.cuda.is_available(), "gpu_bench.py: no GPU visible"
torch.backends.cuda.matmul.allow_tf32 = False  # nnlua's default
torch.backends.cudnn.allow_tf32 = False

class LeNet(nn.Module):  # scripts/models/lenet.lua Net
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 3), nn.Conv2d(6, 16, 3)
        self.fc1, self.fc2, self.fc3 = nn.Linear(576, 120), nn.Linear(120, 84), nn.Linear(84, 10)
    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))

def mlp():  # scripts/models/mlp.lua NeuralNetwork
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))

def resnet18():
    import torchvision
    return torchvision.models.resnet18(num_classes=10)

cases = [("lenet128", LeNet, (128, 1, 32, 32), 50), ("resnet18_64", resnet18, (64, 3, 32, 32), 10),
         ("mlp1024", mlp, (1024, 1, 28, 28), 50)]
for name, make, shape, n in cases:
    torch.manual_seed(0)
    try:
        m = make().cuda().train()
    except ImportError:
        continue
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(shape, device="cuda"), torch.randint(0, 10, (shape[0],), device="cuda")
    def step():
        opt.zero_grad()
        F.cross_entropy(m(x), y).backward()
        opt.step()
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    torch.cuda.synchronize()
    print("%s %.4f" % (name, (time.perf_counter() - t0) / n * 1e3))
