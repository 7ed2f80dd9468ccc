# workloads.py: whole training steps of the seed workloads, PyTorch side (twin: workloads.lua).
# One step = zero_grad, forward, loss, backward, optimizer step, on a fixed synthetic batch.
# Prints "name seconds_per_step peak_rss_kb cpu_seconds_per_step": the median over rounds of
# the mean wall time of a step in a round, after warm-up; the process's peak RSS (VmHWM) at the
# end; the median process CPU time per step (all threads: robust to a loaded machine).
#   /usr/bin/python3 scripts/bench/workloads.py NAME [STEPS_PER_ROUND] [ROUNDS] [THREADS]
import sys, time, torch, torch.nn as nn, torch.nn.functional as F

name = sys.argv[1]
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
if len(sys.argv) > 4:
    torch.set_num_threads(int(sys.argv[4]))
torch.manual_seed(0)

class CifarNet(nn.Module):  # seed 004 (PyTorch CIFAR-10 tutorial)
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)

class NeuralNetwork(nn.Module):  # seed 002
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))

def lenet(batch):
    net = CifarNet()
    return net, torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9), \
        torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))

def mlp(adam):
    net = NeuralNetwork()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3) if adam else torch.optim.SGD(net.parameters(), lr=1e-3)
    return net, opt, torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))

def xor():  # seed 001
    net = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 2), nn.Sigmoid(), nn.Linear(2, 2))
    return net, torch.optim.SGD(net.parameters(), lr=0.7), \
        torch.FloatTensor([[0, 0], [1, 0], [0, 1], [1, 1]]), torch.LongTensor([0, 1, 1, 0])

class BasicBlock(nn.Module):  # torchvision.models.resnet.BasicBlock (no torchvision here)
    def __init__(self, inp, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)

class ResNet18(nn.Module):  # torchvision.models.resnet18's layout (scripts/models/resnet.lua)
    def __init__(self, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, 2)
        self.layer2 = self._make_layer(128, 2, 2)
        self.layer3 = self._make_layer(256, 2, 2)
        self.layer4 = self._make_layer(512, 2, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)
    def _make_layer(self, planes, blocks, stride=1):
        down = None
        if stride != 1 or self.inplanes != planes:
            down = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, down)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)
    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))

def resnet18():  # seed 004: resnet18, 1000 classes, batch 8 of 3x64x64
    net = ResNet18()
    return net, torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9), \
        torch.randn(8, 3, 64, 64), torch.randint(0, 1000, (8,))

W = {"xor": xor, "lenet4": lambda: lenet(4), "lenet128": lambda: lenet(128),
     "mlp64": lambda: mlp(False), "mlp64adam": lambda: mlp(True), "resnet18": resnet18}
model, opt, x, y = W[name]()
crit = nn.CrossEntropyLoss()

def step():
    opt.zero_grad()  # 1.13 default set_to_none=False, as nnlua's zero_grad
    loss = crit(model(x), y)
    loss.backward()
    opt.step()
    return loss

for _ in range(max(3, steps // 5)):
    step()
times, cpu = [], []
for _ in range(rounds):
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    times.append((time.perf_counter() - t0) / steps)
    cpu.append((time.process_time() - c0) / steps)
times.sort()
cpu.sort()

def peak_rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0

print("%s %.9g %d %.9g" % (name, times[(rounds + 1) // 2 - 1], peak_rss_kb(), cpu[(rounds + 1) // 2 - 1]), flush=True)
