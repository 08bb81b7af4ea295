#!/usr/bin/python3
"""Goldens for the `quint` CLI (issue 8): float PyTorch models exported to ONNX, quantized by real
PyTorch 1.13 FX graph mode (Debian python3-torch 1.13.1+dfsg-4), with PyTorch's outputs and
observer state.

Run: /usr/bin/python3 tools/goldens/cli_models.py
Writes apps/reference/test/fixtures/cli/:
  mlp.onnx, cnn.onnx             opset 13, TrainingMode.PRESERVE, static batch 4
  mlp-dyn.onnx, cnn-dyn.onnx     the same models with a dynamic batch axis ('batch')
  two.onnx                       two inputs (a, b), two outputs (sum, gate): `run` with several inputs/outputs
  <model>.calib.npy              16 calibration samples (PyTorch calibrates in 4 batches of 4)
  <model>.x64.npy               64 test samples; golden codes are PyTorch's on all 64
  <model>.x.npy, <model>.y.npy   the first 4 of them and the float model's output on those
  two.a.npy, two.b.npy, two.sum.npy, two.gate.npy
  golden.json                    per model × qconfig: PyTorch's observer state (by observed node);
                                 per engine (qnnpack, onednn): the int8 output of convert_fx on x
                                 (codes, scale, zero point) and its dequantized float output, on x64

Engine onednn: PyTorch 1.13 onednn on a CPU without VNNI saturates u8*s8 pair sums at int16 with 8-bit
activations; only the fbgemm (reduce_range) preset gives goldens quint's onednn engine must equal.

Models: an MLP (Linear-ReLU-Linear-ReLU-Linear) and a small CNN (conv-bn-relu, maxpool,
conv-bn-relu, 1x1 conv, residual add, adaptive avgpool, flatten, linear). qconfigs:
  qnnpack      get_default_qconfig_mapping('qnnpack')  (HistogramObserver, per-tensor weights)
  fbgemm       get_default_qconfig_mapping('fbgemm')   (HistogramObserver reduce_range, per-channel weights)
  minmax-pc    qnnpack's mapping with every activation observer replaced by MinMaxObserver (quint8,
               per_tensor_affine) and every weight observer by PerChannelMinMaxObserver (qint8,
               per_channel_symmetric, ch_axis 0) — what `--activation-observer minmax
               --weight-observer per-channel-minmax` asks for
"""
import base64, copy, json, os, subprocess
import numpy as np
import torch
import torch.nn as nn
from torch.ao.quantization import QConfig, QConfigMapping, get_default_qconfig_mapping, MinMaxObserver, PerChannelMinMaxObserver
from torch.ao.quantization.quantize_fx import prepare_fx, convert_fx

SEED = 20261204
torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'apps', 'reference', 'test', 'fixtures', 'cli')
ENGINES = ['qnnpack', 'onednn']
CONFIGS = ['qnnpack', 'fbgemm', 'minmax-pc']
N_CALIB, BATCH, N_TEST = 16, 4, 64


def deb_version():
    return subprocess.run(['dpkg-query', '-W', '-f=${Version}', 'python3-torch'], capture_output=True, text=True).stdout.strip()


def b64f32(t):
    a = t.detach().float().numpy().astype('<f4').copy(order='C')
    return {'shape': list(t.shape), 'b64': base64.b64encode(a.tobytes()).decode()}


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.relu1 = nn.ReLU()
        self.fc2 = nn.Linear(32, 32)
        self.relu2 = nn.ReLU()
        self.fc3 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc3(self.relu2(self.fc2(self.relu1(self.fc1(x)))))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(8, 8, 1)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.pool(self.relu1(self.bn1(self.conv1(x))))
        y = self.conv3(self.relu2(self.bn2(self.conv2(x))))
        x = x + y
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


class Two(nn.Module):
    """Two inputs, two outputs (float only: `quint run` with --input name=… and an --out folder)."""
    def __init__(self):
        super().__init__()
        self.fa = nn.Linear(6, 5)
        self.fb = nn.Linear(3, 5)
        self.gate = nn.Linear(6, 2)

    def forward(self, a, b):
        return self.fa(a) + self.fb(b), torch.relu(self.gate(a))


MODELS = [('mlp', MLP, [16]), ('cnn', CNN, [3, 16, 16])]


def randomize_bn(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                n = m.num_features
                m.running_mean.copy_(torch.randn(n) * 0.2)
                m.running_var.copy_(torch.rand(n) + 0.5)
                m.weight.copy_(torch.rand(n) + 0.5)
                m.bias.copy_(torch.randn(n) * 0.2)


def mapping_of(config):
    if config in ('qnnpack', 'fbgemm'):
        return get_default_qconfig_mapping(config)
    m = get_default_qconfig_mapping('qnnpack')
    q = QConfig(activation=MinMaxObserver.with_args(dtype=torch.quint8, qscheme=torch.per_tensor_affine, reduce_range=False),
                weight=PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric, ch_axis=0))
    m.set_global(q)
    for k, v in list(m.object_type_qconfigs.items()):
        if v is None:
            continue
        if 'FixedQParams' in repr(v.activation):  # fixed-qparams ops keep theirs, as quint's override does
            continue
        m.set_object_type(k, q)
    return m


def observers_of(prepared):
    """Observer state keyed by the node each observer watches (its first call site's input)."""
    out = {}
    mods = dict(prepared.named_modules(remove_duplicate=False))
    for n in prepared.graph.nodes:
        if n.op != 'call_module' or not n.target.startswith('activation_post_process_'):
            continue
        m = mods[n.target]
        s, z = m.calculate_qparams()
        out[n.args[0].name] = {
            'observer': n.target,
            'class': type(m).__name__,
            'state': {k: b64f32(v) for k, v in m.state_dict().items()},
            'scale': s.reshape(-1).tolist(), 'zeroPoint': z.reshape(-1).tolist(),
        }
    return out


def export(model, path, example, dynamic, names=(['x'], ['y'])):
    ins, outs = names
    torch.onnx.export(model, example, path, opset_version=13, training=torch.onnx.TrainingMode.PRESERVE,
                      input_names=ins, output_names=outs, do_constant_folding=True,
                      dynamic_axes=({k: {0: 'batch'} for k in ins + outs} if dynamic else None))


def save_npy(name, t):
    np.save(os.path.join(OUT, name), t.detach().numpy().astype(np.float32))


def main():
    os.makedirs(OUT, exist_ok=True)
    golden = {'torchPackage': deb_version(), 'torchVersion': torch.__version__, 'seed': SEED, 'batch': BATCH,
              'nCalib': N_CALIB, 'nTest': N_TEST, 'models': {}}
    for name, make, shape in MODELS:
        torch.manual_seed(SEED)
        model = make()
        randomize_bn(model)
        model.eval()
        calib = torch.randn(N_CALIB, *shape)
        x = torch.randn(N_TEST, *shape)
        with torch.no_grad():
            y = model(x)
        export(model, os.path.join(OUT, f'{name}.onnx'), (x[:BATCH],), False)
        export(model, os.path.join(OUT, f'{name}-dyn.onnx'), (x[:BATCH],), True)
        save_npy(f'{name}.calib.npy', calib)
        save_npy(f'{name}.x.npy', x[:BATCH])
        save_npy(f'{name}.y.npy', y[:BATCH])
        save_npy(f'{name}.x64.npy', x)
        entry = {'configs': {}}
        for config in CONFIGS:
            prepared = prepare_fx(copy.deepcopy(model), mapping_of(config), (calib[:BATCH],))
            with torch.no_grad():
                for i in range(0, N_CALIB, BATCH):
                    prepared(calib[i:i + BATCH])
            c = {'observers': observers_of(prepared), 'engines': {}}
            for engine in ENGINES:
                torch.backends.quantized.engine = engine
                q = convert_fx(copy.deepcopy(prepared))
                # The last quantized value: the input of the final dequantize.
                out_node = [n for n in q.graph.nodes if n.op == 'output'][0]
                deq = out_node.args[0]
                assert deq.op == 'call_method' and deq.target == 'dequantize', deq
                captured = {}
                mods = dict(q.named_modules())
                src = deq.args[0]
                mods[src.target].register_forward_hook(lambda m, i, o: captured.setdefault('q', o))
                with torch.no_grad():
                    yq = q(x)
                qo = captured['q']
                c['engines'][engine] = {
                    'scale': qo.q_scale(), 'zeroPoint': qo.q_zero_point(),
                    'codes': qo.int_repr().reshape(-1).tolist(), 'shape': list(qo.shape),
                }
            entry['configs'][config] = c
            print(name, config, len(c['observers']), 'observers', {e: c['engines'][e]['scale'] for e in ENGINES})
        golden['models'][name] = entry

    torch.manual_seed(SEED + 1)
    two = Two().eval()
    a, b = torch.randn(3, 6), torch.randn(3, 3)
    with torch.no_grad():
        s, g = two(a, b)
    export(two, os.path.join(OUT, 'two.onnx'), (a, b), True, (['a', 'b'], ['sum', 'gate']))
    for k, v in [('a', a), ('b', b), ('sum', s), ('gate', g)]:
        save_npy(f'two.{k}.npy', v)
    with open(os.path.join(OUT, 'golden.json'), 'w') as f:
        json.dump(golden, f)
    print('wrote', OUT)


if __name__ == '__main__':
    main()
