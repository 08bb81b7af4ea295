#!/usr/bin/python3
"""Float ONNX fixtures for @quint/onnx (issue 7), exported by torch.onnx 1.13.

Writes into packages/onnx/test/fixtures/: small float PyTorch models exported with model.eval() and
training=torch.onnx.TrainingMode.PRESERVE (so BatchNormalization stays in the graph and quint folds
it with PyTorch's own formula, spec pytorch-semantics §4.2), plus one input and PyTorch's output per
model (<name>.x.npy, <name>.y.npy), and versions.json with the torch/onnx versions.

  cnn-static.onnx     opset 13, batch 1 fixed: Conv+BN+ReLU, MaxPool, residual Add, AvgPool2d (Pad+AveragePool),
                      x.view(x.size(0), -1) (folded to a constant Reshape by the exporter), Gemm+ReLU, Dropout, Gemm
  cnn-dynamic.onnx    the same model with a dynamic batch axis: the view exports to Shape/Gather/Unsqueeze/Concat/Reshape
  cnn-dynamic-op11.onnx  the same at opset 11 (Unsqueeze axes as an attribute)
  zoo.onnx            opset 13: Hardswish (HardSigmoid+Mul), ReLU6 (Clip), Hardtanh (Clip), Sigmoid, Tanh, cat, mul,
                      AdaptiveAvgPool2d(2) (bare AveragePool), AvgPool2d(count_include_pad=False), GlobalAveragePool,
                      flatten, Linear, Softmax
  convnet.onnx        opset 13, dynamic batch: Conv+ReLU, MaxPool, grouped Conv+ReLU, Flatten, Gemm+ReLU, Gemm
                      (conv/linear only: the model engine 'ort' runs bit-exactly against ONNX Runtime)
  mlp3d.onnx          opset 13, dynamic batch: Linear on a 3-D input (MatMul+Add), permute (Transpose), reshape

Usage: /usr/bin/python3 tools/goldens/onnx_float.py
"""
import json
import os

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'packages', 'onnx', 'test', 'fixtures')


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.AvgPool2d(2)
        self.fc1 = nn.Linear(8 * 4 * 4, 32)
        self.relu3 = nn.ReLU()
        self.drop = nn.Dropout(0.2)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        y = self.pool1(self.relu1(self.bn1(self.conv1(x))))
        z = self.relu2(self.bn2(self.conv2(y)) + y)
        z = self.pool2(z)
        z = z.view(z.size(0), -1)
        return self.fc2(self.drop(self.relu3(self.fc1(z))))


class Zoo(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.hs = nn.Hardswish()
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.relu6 = nn.ReLU6()
        self.conv2 = nn.Conv2d(8, 8, 1)
        self.sig = nn.Sigmoid()
        self.ht = nn.Hardtanh(-2.0, 2.0)
        self.ada = nn.AdaptiveAvgPool2d(4)
        self.avg = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
        self.tanh = nn.Tanh()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        a = self.hs(self.conv1(x))                 # [1, 8, 8, 8]
        b = self.relu6(self.dw(a))
        c = self.sig(self.conv2(a))
        d = torch.cat([b, c * b], 1)               # [1, 16, 8, 8]
        d = self.ht(d)
        d = self.ada(d)                            # [1, 16, 4, 4]
        d = self.tanh(self.avg(d))
        d = torch.flatten(self.gap(d), 1)          # [1, 16]
        return F.softmax(self.fc(d), dim=1)


class Mlp3d(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 12)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(12, 4)

    def forward(self, x):                          # [N, 5, 6]
        y = self.fc2(self.relu(self.fc1(x)))       # [N, 5, 4]
        y = y.permute(0, 2, 1)                     # [N, 4, 5]
        return y.reshape(-1, 20)


class ConvNet(nn.Module):
    """conv/linear only (plus ReLU, MaxPool, flatten): what engine 'ort' runs bit-exactly today."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, groups=2)
        self.relu2 = nn.ReLU()
        self.fc1 = nn.Linear(8 * 4 * 4, 16)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        x = self.pool(self.relu1(self.conv1(x)))
        x = torch.flatten(self.relu2(self.conv2(x)), 1)
        return self.fc2(self.relu3(self.fc1(x)))


def randomize_bn(m, g):
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.copy_(torch.randn(mod.num_features, generator=g) * 0.1)
            mod.running_var.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
            mod.weight.data.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
            mod.bias.data.copy_(torch.randn(mod.num_features, generator=g) * 0.1)


def export(model, x, name, opset=13, dynamic=False):
    model.eval()
    path = os.path.join(OUT, f'{name}.onnx')
    kwargs = dict(dynamic_axes={'x': {0: 'batch'}, 'y': {0: 'batch'}}) if dynamic else {}
    torch.onnx.export(model, (x,), path, opset_version=opset, training=torch.onnx.TrainingMode.PRESERVE,
                      input_names=['x'], output_names=['y'], do_constant_folding=True, **kwargs)
    onnx.checker.check_model(onnx.load(path))
    with torch.no_grad():
        y = model(x)
    np.save(os.path.join(OUT, f'{name}.x.npy'), x.numpy().astype(np.float32))
    np.save(os.path.join(OUT, f'{name}.y.npy'), y.numpy().astype(np.float32))
    m = onnx.load(path)
    return {'opset': opset, 'dynamicBatch': dynamic, 'ops': sorted({n.op_type for n in m.graph.node}),
            'input': list(x.shape), 'bytes': os.path.getsize(path)}


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(7)
    info = {}
    cnn = Cnn()
    randomize_bn(cnn, g)
    x = torch.randn(1, 3, 16, 16, generator=g)
    info['cnn-static'] = export(cnn, x, 'cnn-static')
    x3 = torch.randn(3, 3, 16, 16, generator=g)
    info['cnn-dynamic'] = export(cnn, x3, 'cnn-dynamic', dynamic=True)
    info['cnn-dynamic-op11'] = export(cnn, x3, 'cnn-dynamic-op11', opset=11, dynamic=True)
    zoo = Zoo()
    info['zoo'] = export(zoo, torch.randn(1, 3, 16, 16, generator=g) * 2, 'zoo')
    mlp = Mlp3d()
    info['mlp3d'] = export(mlp, torch.randn(2, 5, 6, generator=g), 'mlp3d', dynamic=True)
    convnet = ConvNet()
    info['convnet'] = export(convnet, torch.randn(4, 3, 8, 8, generator=g), 'convnet', dynamic=True)
    versions = {'generator': 'tools/goldens/onnx_float.py', 'torch': '1.13.1+dfsg-4 (torch.__version__ ' + torch.__version__ + ')',
                'onnx': onnx.__version__ + ' (Debian python3-onnx 1.12.0-2+b4)', 'seed': 7, 'models': info}
    path = os.path.join(OUT, 'versions-float.json')
    with open(path, 'w') as f:
        json.dump(versions, f, indent=1)
    print(json.dumps(versions, indent=1))


if __name__ == '__main__':
    main()
