#!/usr/bin/python3
"""Goldens for @quint/nn's float modules, from real PyTorch 1.13 (Debian python3-torch).

Run: /usr/bin/python3 tools/goldens/nn_float.py
Writes packages/nn/test/goldens/nn_float.json:
- `reprs`: repr(module) and list(state_dict().keys()) of several modules (nested, Sequential, fused);
- `forwards`: small float modules with their state_dict and an input, and the output of module(x)
  in eval mode (tensors as base64 little-endian float32).
One intra-op thread, as spec pytorch-semantics.md §11.2 assumes.
"""
import base64, json, os, subprocess
from collections import OrderedDict
import torch
import torch.nn as nn
import torch.ao.nn.intrinsic as nni
import torch.ao.nn.quantized as nnq
from torch.ao.quantization import QuantStub, DeQuantStub

SEED = 20240614
torch.set_num_threads(1)
torch.manual_seed(SEED)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'packages', 'nn', 'test', 'goldens', 'nn_float.json')


def deb_version():
    return subprocess.run(['dpkg-query', '-W', '-f=${Version}', 'python3-torch'], capture_output=True, text=True).stdout.strip()


def enc(t):
    a = t.detach().float().numpy().astype('<f4').copy(order='C')
    return {'shape': list(t.shape), 'b64': base64.b64encode(a.tobytes()).decode()}


class M(nn.Module):  # the seed program's model
    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.conv = nn.Conv2d(1, 1, 1)
        self.relu = nn.ReLU()
        self.dequant = DeQuantStub()

    def forward(self, x):
        return self.dequant(self.relu(self.conv(self.quant(x))))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)
        self.skip_add = nnq.FloatFunctional()

    def forward(self, x):
        return self.skip_add.add(x, self.relu(self.bn1(self.conv1(x))))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.layer1 = nn.Sequential(Block(4), Block(4))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(4, 10)
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.layer1(self.stem(x))
        return self.dequant(self.fc(self.flatten(self.pool(x))))


def all_layers():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, (3, 1), stride=(2, 1), padding=(0, 1), dilation=2, groups=2),
        nn.ReLU6(),
        nn.Hardtanh(),
        nn.Hardtanh(-2.5, 2.5, inplace=True),
        nn.Hardswish(),
        nn.Hardsigmoid(),
        nn.Sigmoid(),
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.AvgPool2d((2, 3), stride=1, padding=1),
        nn.MaxPool2d((3, 3), stride=(1, 2), padding=1, dilation=1, ceil_mode=True),
        nn.AdaptiveAvgPool2d(1),
        nn.AdaptiveAvgPool2d((None, 7)),
        nn.AdaptiveAvgPool2d((2, 3)),
        nn.Flatten(),
        nn.Flatten(0, 2),
        nn.Dropout(0.2),
        nn.Dropout(),
        nn.Linear(16, 4),
        nn.Linear(4, 2, bias=False),
        nn.Identity(),
        nn.BatchNorm2d(4, eps=1e-3, momentum=0.01, affine=False),
        nn.Conv2d(4, 4, 1, padding='same'),
        nn.Conv2d(4, 4, 3, padding='valid'),
    )


def repr_cases():
    out = []
    def add(name, m):
        out.append({'name': name, 'repr': repr(m), 'stateDictKeys': list(m.state_dict().keys())})
    add('seed M', M())
    add('Net (nested)', Net())
    add('all layers', all_layers())
    add('Sequential(OrderedDict)', nn.Sequential(OrderedDict([('conv', nn.Conv2d(1, 2, 3)), ('relu', nn.ReLU())])))
    add('ConvReLU2d', nni.ConvReLU2d(nn.Conv2d(1, 1, 1), nn.ReLU()))
    add('ConvBn2d', nni.ConvBn2d(nn.Conv2d(2, 4, 3, bias=False), nn.BatchNorm2d(4)))
    add('ConvBnReLU2d', nni.ConvBnReLU2d(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.ReLU()))
    add('LinearReLU', nni.LinearReLU(nn.Linear(8, 4), nn.ReLU()))
    add('FloatFunctional', nnq.FloatFunctional())
    add('QuantStub', QuantStub())
    add('empty Sequential', nn.Sequential())
    return out


def forward_cases():
    cases = []
    def add(name, m, x):
        m.eval()
        with torch.no_grad():
            y = m(x)
        cases.append({
            'name': name,
            'stateDict': {k: enc(v) for k, v in m.state_dict().items()},
            'input': enc(x),
            'output': enc(y),
        })
    def randomize_bn(bn):
        with torch.no_grad():
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.2, 2)
            if bn.weight is not None:
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.uniform_(-1, 1)
    x = torch.randn(2, 3, 8, 8)
    add('conv3x3 pad1', nn.Conv2d(3, 4, 3, padding=1), x)
    add('conv stride2 no bias', nn.Conv2d(3, 6, 3, stride=2, bias=False), x)
    add('conv groups3 dilation2', nn.Conv2d(3, 6, 3, dilation=2, groups=3), x)
    add('conv1x1 seed', nn.Conv2d(1, 1, 1), torch.randn(4, 1, 4, 4))
    bn = nn.BatchNorm2d(3); randomize_bn(bn)
    add('batchnorm', bn, x)
    bn2 = nn.BatchNorm2d(3, eps=1e-3, affine=False); randomize_bn(bn2)
    add('batchnorm affine=False eps=1e-3', bn2, x)
    xa = torch.randn(2, 3, 5, 5) * 4
    for name, m in [('relu', nn.ReLU()), ('relu6', nn.ReLU6()), ('hardtanh', nn.Hardtanh(-2.5, 2.5)),
                    ('hardswish', nn.Hardswish()), ('hardsigmoid', nn.Hardsigmoid()), ('sigmoid', nn.Sigmoid()),
                    ('tanh', nn.Tanh()), ('maxpool2', nn.MaxPool2d(2)), ('maxpool3 s2 p1', nn.MaxPool2d(3, stride=2, padding=1)),
                    ('avgpool2', nn.AvgPool2d(2)), ('avgpool3 s1 p1', nn.AvgPool2d(3, stride=1, padding=1)),
                    ('adaptiveavgpool1', nn.AdaptiveAvgPool2d(1)), ('adaptiveavgpool 2x3', nn.AdaptiveAvgPool2d((2, 3))),
                    ('flatten', nn.Flatten()), ('dropout', nn.Dropout(0.3)), ('identity', nn.Identity())]:
        add(name, m, xa)
    add('linear', nn.Linear(12, 5), torch.randn(3, 12))
    add('linear no bias', nn.Linear(12, 5, bias=False), torch.randn(3, 12))
    net = Net()
    for mod in net.modules():
        if isinstance(mod, nn.BatchNorm2d):
            randomize_bn(mod)
    add('Net', net, torch.randn(2, 3, 8, 8))
    seq = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU6(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))
    randomize_bn(seq[1])
    add('small CNN Sequential', seq, torch.randn(2, 3, 8, 8))
    return cases


doc = {
    'generator': 'tools/goldens/nn_float.py',
    'torch': torch.__version__,
    'debianPackage': 'python3-torch ' + deb_version(),
    'seed': SEED,
    'threads': 1,
    'reprs': repr_cases(),
    'forwards': forward_cases(),
}
with open(OUT, 'w') as f:
    json.dump(doc, f, indent=1)
print('wrote', OUT, len(doc['reprs']), 'reprs', len(doc['forwards']), 'forwards')
