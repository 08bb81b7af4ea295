"""Golden printouts of torch.fx 1.13 symbolic tracing, for @quint/fx-graph-tracer.

Run with Debian's python (torch 1.13.1+dfsg-4):
    /usr/bin/python3 tools/goldens/fx_trace.py
Writes packages/fx-graph-tracer/test/goldens/fx-trace.json: for each model, str(gm.graph),
gm.code and a per-node table (op, name, target as printed, args, kwargs, #users). The models are
written the way the TypeScript tests write them (lists where JS passes arrays, positional args).
"""
import json
import os
import subprocess

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F
from torch.ao.quantization import QuantStub, DeQuantStub
from torch.ao.nn.quantized import FloatFunctional
from torch.fx.node import _format_arg

torch.manual_seed(0)


class Seed(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.conv = nn.Conv2d(1, 4, 3)
        self.relu = nn.ReLU()
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.conv(x)
        x = self.relu(x)
        return self.dequant(x)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 8)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(8, 4)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = self.relu(self.fc1(x))
        return self.fc2(x)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.bn = nn.BatchNorm2d(c)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class ResidualAdd(nn.Module):
    """A CNN with conv-bn-relu, a residual add (functional), maxpool, adaptive avgpool, flatten, linear."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu1 = nn.ReLU()
        self.block = Block(4)
        self.pool = nn.MaxPool2d(2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        x = self.relu1(self.bn1(self.conv1(x)))
        y = self.block(x)
        x = torch.add(x, y)
        x = self.pool(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


class ResidualFloatFunctional(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.skip_add = FloatFunctional()
        self.relu2 = nn.ReLU()

    def forward(self, x):
        x = self.relu1(self.conv1(x))
        y = self.conv2(x)
        x = self.skip_add.add(x, y)
        return self.relu2(x)


class ViewFlatten(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        x = self.conv(x)
        x = x.view([x.size(0), -1])
        return self.fc(x)


class Cat(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_a = nn.Conv2d(1, 2, 1)
        self.conv_b = nn.Conv2d(1, 2, 1)
        self.relu = nn.ReLU()

    def forward(self, x):
        a = self.conv_a(x)
        b = self.conv_b(x)
        y = torch.cat([a, b], 1)
        return torch.relu(y)


class Functional(nn.Module):
    """Functional ops only: torch.relu / torch.add / torch.mul calls, each named after the op."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 1)

    def forward(self, x):
        a = torch.relu(self.conv(x))
        b = torch.relu(x)
        c = torch.add(a, b)
        d = torch.mul(c, a)
        return torch.add(d, 1.0)


MODELS = {
    'seed': Seed,
    'mlp': Mlp,
    'residual-add': ResidualAdd,
    'residual-float-functional': ResidualFloatFunctional,
    'view-flatten': ViewFlatten,
    'cat': Cat,
    'functional': Functional,
}


def pretty_target(n):
    return n._pretty_print_target(n.target)


def main():
    out = {
        'generator': 'tools/goldens/fx_trace.py',
        'torchPackage': subprocess.run(['dpkg-query', '-W', '-f=${Version}', 'python3-torch'],
                                       capture_output=True, text=True).stdout,
        'torchVersion': torch.__version__,
        'models': {},
    }
    for key, cls in MODELS.items():
        gm = torch.fx.symbolic_trace(cls().eval())
        out['models'][key] = {
            'graph': str(gm.graph),
            'code': gm.code,
            'nodes': [
                {
                    'op': n.op,
                    'name': n.name,
                    'target': pretty_target(n),
                    'args': _format_arg(n.args),
                    'kwargs': _format_arg(n.kwargs),
                    'users': len(n.users),
                }
                for n in gm.graph.nodes
            ],
        }
    here = os.path.dirname(os.path.abspath(__file__))
    dst = os.path.join(here, '..', '..', 'packages', 'fx-graph-tracer', 'test', 'goldens', 'fx-trace.json')
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
