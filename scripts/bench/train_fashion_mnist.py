"""scripts/train_fashion_mnist.lua's recipe in PyTorch 1.13 (the reference for the end-to-end
comparison in RESULTS.md): the same Fashion-MNIST files, the same CNN (seed 000's LeNet on
28x28: conv 1->6 3x3, relu, pool 2, conv 6->16 3x3, relu, pool 2, 400-120-84-10) or MLP
(seed 002's 784-512-512-10), ToTensor + Normalize((0.5,), (0.5,)) (as seed 004), batch 64 shuffled, CrossEntropyLoss, SGD(lr 0.01,
momentum 0.9), 2 epochs, running loss every 200 mini-batches, overall and per-class test
accuracy, total wall time.

torchvision is not installed here, so the IDX files are read with gzip + numpy, and the
Dataset does per sample what torchvision's FashionMNIST + ToTensor does (uint8 (28, 28) ->
float32 (1, 28, 28) / 255, then (x - 0.5) / 0.5) behind the standard DataLoader (num_workers=0).

    /usr/bin/python3 scripts/bench/train_fashion_mnist.py [--threads N] [--epochs 2] [--model cnn|mlp] [--no-normalize]
"""
import argparse
import gzip
import os
import time

T0 = time.time()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torch.optim as optim  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot")


def read_idx(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(root, name):
    for p in (os.path.join(root, name), os.path.join(root, name + ".gz")):
        if os.path.exists(p):
            return p
    raise SystemExit(f"cannot find {root}/{name}[.gz] (apt-get install dataset-fashion-mnist)")


class FashionMNIST(Dataset):
    def __init__(self, root, train, normalize=True):
        self.normalize = normalize
        prefix = "train" if train else "t10k"
        self.data = torch.from_numpy(read_idx(find(root, prefix + "-images-idx3-ubyte")).copy())
        self.targets = torch.from_numpy(read_idx(find(root, prefix + "-labels-idx1-ubyte")).astype(np.int64))

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        # torchvision: Image.fromarray(img) then ToTensor(): (1, 28, 28) float32 in [0, 1]
        x = self.data[i].unsqueeze(0).float().div(255)
        if self.normalize:  # transforms.Normalize((0.5,), (0.5,))
            x = x.sub(0.5).div(0.5)
        return x, int(self.targets[i])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3)
        self.conv2 = nn.Conv2d(6, 16, 3)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(nn.Linear(28 * 28, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                                               nn.Linear(512, 10))

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--model", choices=("cnn", "mlp"), default="cnn")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--no-normalize", dest="normalize", action="store_false",
                    help="ToTensor only (default: ToTensor, then Normalize((0.5,), (0.5,)))")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    trainset, testset = FashionMNIST(args.data, True, args.normalize), FashionMNIST(args.data, False, args.normalize)
    trainloader = DataLoader(trainset, batch_size=args.batch_size, shuffle=True)
    testloader = DataLoader(testset, batch_size=1000, shuffle=False)
    net = Net() if args.model == "cnn" else NeuralNetwork()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=args.lr, momentum=0.9)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s), model {args.model}")

    t_train = time.time()
    nb = len(trainloader)
    for epoch in range(args.epochs):
        running_loss, count = 0.0, 0
        for i, (inputs, labels) in enumerate(trainloader):
            optimizer.zero_grad()
            loss = criterion(net(inputs), labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            count += 1
            if (i + 1) % 200 == 0 or i + 1 == nb:
                print(f"[{epoch + 1}, {i + 1:5d}] loss: {running_loss / count:.3f}")
                running_loss, count = 0.0, 0
    train_s = time.time() - t_train
    print("Finished Training")

    correct = total = 0
    correct_pred = [0] * 10
    total_pred = [0] * 10
    with torch.no_grad():
        for images, labels in testloader:
            _, predicted = torch.max(net(images), 1)
            for label, prediction in zip(labels.tolist(), predicted.tolist()):
                total_pred[label] += 1
                if label == prediction:
                    correct_pred[label] += 1
                    correct += 1
            total += labels.size(0)
    print(f"Accuracy of the network on the {total} test images: {100 * correct // total} %")
    print(f"Test accuracy: {100 * correct / total:.2f} %")
    for c, name in enumerate(CLASSES):
        print(f"Accuracy for class: {name:11s} is {100 * correct_pred[c] / max(total_pred[c], 1):.1f} %")
    print(f"Training time: {train_s:.1f} s; total wall time: {time.time() - T0:.1f} s")


if __name__ == "__main__":
    main()
