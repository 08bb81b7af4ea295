#!/usr/bin/python3
"""Goldens for @quint/converter's eager mode (fuse_modules, prepare, convert, quantize_dynamic),
from real PyTorch 1.13 (Debian python3-torch 1.13.1+dfsg-4).

Run: /usr/bin/python3 tools/goldens/converter_eager.py
Writes packages/converter/test/goldens/:
- converter_eager.json: for the seed model M and a small CNN, each under a qconfig preset:
  the float state_dict (BN statistics set to seeded random values), the fused state_dict (PyTorch's
  own BN folding), the calibration batches, the observers' state after calibration (every
  activation_post_process buffer: histogram, min_val, max_val), and per engine (qnnpack, onednn):
  every quantized module's weight codes and qparams, float bias, output scale/zero point, the
  output (codes and qparams) of every module that returns a quantized tensor on the test batch, the
  final float output, and repr(converted).
- converter_fusion.json: fuse_conv_bn_eval / fuse_linear_bn_weights on random modules (bias or not).
- converter_dynamic.json: quantize_dynamic of a small MLP on engine qnnpack.
Tensors: base64 little-endian (float32 / int8 / uint8 / int32 as named).
"""
import base64, copy, json, os, subprocess
import numpy as np
import torch
import torch.nn as nn
import torch.ao.nn.quantized as nnq
import torch.ao.nn.quantized.dynamic
from torch.ao.quantization import QuantStub, DeQuantStub, get_default_qconfig, fuse_modules, prepare, convert, quantize_dynamic
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_weights

SEED = 20261127
torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'packages', 'converter', 'test', 'goldens')
ENGINES = ['qnnpack', 'onednn']


def deb_version():
    return subprocess.run(['dpkg-query', '-W', '-f=${Version}', 'python3-torch'], capture_output=True, text=True).stdout.strip()


def cpu_flags():
    flags = set()
    for line in open('/proc/cpuinfo'):
        if line.startswith('flags'):
            flags |= {f for f in line.split() if f in ('avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx_vnni', 'amx_tile')}
    return sorted(flags)


def f32(t):
    a = t.detach().float().numpy().astype('<f4').copy(order='C')
    return {'shape': list(t.shape), 'dtype': 'float32', 'b64': base64.b64encode(a.tobytes()).decode()}


def codes(q):
    r = q.int_repr().numpy()
    dt = {np.dtype('uint8'): 'uint8', np.dtype('int8'): 'int8', np.dtype('int32'): 'int32'}[r.dtype]
    return {'shape': list(q.shape), 'dtype': dt, 'b64': base64.b64encode(np.ascontiguousarray(r).astype(r.dtype.newbyteorder('<')).tobytes()).decode()}


def qparams(q):
    if q.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        return {'qscheme': str(q.qscheme()).replace('torch.', ''), 'scale': q.q_scale(), 'zeroPoint': q.q_zero_point()}
    return {'qscheme': str(q.qscheme()).replace('torch.', ''), 'scales': q.q_per_channel_scales().tolist(),
            'zeroPoints': q.q_per_channel_zero_points().tolist(), 'axis': q.q_per_channel_axis()}


def state(sd):
    return {k: f32(v) for k, v in sd.items()}


class M(nn.Module):
    """The seed program's model."""
    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.conv = nn.Conv2d(1, 1, 1)
        self.relu = nn.ReLU()
        self.dequant = DeQuantStub()

    def forward(self, x):
        return self.dequant(self.relu(self.conv(self.quant(x))))


class SmallCNN(nn.Module):
    """conv-bn-relu, conv-relu, FloatFunctional.add residual, maxpool, adaptive avgpool, flatten, linear."""
    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.skip = nnq.FloatFunctional()
        self.pool = nn.MaxPool2d(2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(8, 10)
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.relu1(self.bn1(self.conv1(x)))
        y = self.relu2(self.conv2(x))
        x = self.skip.add(x, y)
        x = self.pool(x)
        x = self.avgpool(x)
        x = self.flatten(x)
        x = self.fc(x)
        return self.dequant(x)


def randomize_bn(bn):
    with torch.no_grad():
        n = bn.num_features
        bn.running_mean.copy_(torch.randn(n) * 0.2)
        bn.running_var.copy_(torch.rand(n) + 0.5)
        bn.weight.copy_(torch.rand(n) + 0.5)
        bn.bias.copy_(torch.randn(n) * 0.2)


def describe_module(m):
    d = {'type': type(m).__name__}
    if hasattr(m, 'weight') and callable(getattr(m, 'weight')):
        w = m.weight()
        d['weight'] = codes(w)
        d['weightQparams'] = qparams(w)
        b = m.bias()
        d['bias'] = None if b is None else f32(b)
    if hasattr(m, 'scale'):
        s = m.scale
        d['scale'] = float(s) if not torch.is_tensor(s) else float(s.item())
        zp = m.zero_point
        d['zeroPoint'] = int(zp) if not torch.is_tensor(zp) else int(zp.item())
    return d


def eager_case(name, make, fuse_list, preset, calib, test):
    torch.manual_seed(SEED)
    model = make()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            randomize_bn(m)
    model.eval()
    float_sd = model.state_dict()
    fused = fuse_modules(model, fuse_list)
    fused.qconfig = get_default_qconfig(preset)
    prepared = prepare(fused)
    with torch.no_grad():
        for b in calib:
            prepared(b)
    prepared_sd = prepared.state_dict()
    observers = {k: f32(v) for k, v in prepared_sd.items() if 'activation_post_process' in k}
    obs_qparams = {}
    for path, m in prepared.named_modules():
        if isinstance(m, torch.ao.quantization.ObserverBase):
            s, z = m.calculate_qparams()
            obs_qparams[path] = {'scale': s.tolist(), 'zeroPoint': z.tolist()}
    with torch.no_grad():
        float_out = fused(test)
    engines = {}
    for engine in ENGINES:
        torch.backends.quantized.engine = engine
        q = convert(copy.deepcopy(prepared))
        modules = {path: describe_module(m) for path, m in q.named_modules() if path != ''}
        outputs = {}

        def hook(path):
            def f(mod, inp, out):
                if torch.is_tensor(out) and out.is_quantized:
                    outputs[path] = {'codes': codes(out), 'qparams': qparams(out)}
            return f
        handles = [m.register_forward_hook(hook(path)) for path, m in q.named_modules() if path != '' and not isinstance(m, nn.Identity)]
        with torch.no_grad():
            y = q(test)
        for h in handles:
            h.remove()
        engines[engine] = {'modules': modules, 'outputs': outputs, 'output': f32(y), 'repr': repr(q)}
    return {
        'name': name, 'qconfig': "get_default_qconfig('%s')" % preset, 'preset': preset, 'fuse': fuse_list,
        'floatStateDict': state(float_sd), 'fusedStateDict': state(fused.state_dict()),
        'calibration': [f32(b) for b in calib], 'test': f32(test),
        'observers': observers, 'observerQparams': obs_qparams, 'floatOutput': f32(float_out),
        'preparedRepr': repr(prepared), 'engines': engines,
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []
    # (a) the seed program: calibrate on one randn(4,1,4,4) batch, run the same batch.
    torch.manual_seed(SEED)
    x_seed = torch.randn(4, 1, 4, 4)
    cases.append(eager_case('seed M', M, [['conv', 'relu']], 'fbgemm', [x_seed], x_seed))
    # (b) the small CNN under the qnnpack and fbgemm presets: two calibration batches, one test batch.
    torch.manual_seed(SEED + 1)
    calib = [torch.randn(8, 1, 8, 8), torch.randn(8, 1, 8, 8)]
    test = torch.randn(16, 1, 8, 8)
    fuse_cnn = [['conv1', 'bn1', 'relu1'], ['conv2', 'relu2']]
    for preset in ['qnnpack', 'fbgemm']:
        cases.append(eager_case('small CNN ' + preset, SmallCNN, fuse_cnn, preset, calib, test))
    meta = {'torch': torch.__version__, 'debianPackage': 'python3-torch ' + deb_version(), 'seed': SEED, 'threads': 1, 'cpuFlags': cpu_flags()}
    with open(os.path.join(OUT, 'converter_eager.json'), 'w') as f:
        json.dump({'generator': 'tools/goldens/converter_eager.py', **meta, 'cases': cases}, f)

    # BN folding on its own: conv (with and without bias, 3x3 and 1x1), linear + BatchNorm1d weights.
    torch.manual_seed(SEED + 2)
    folds = []
    for (cin, cout, k, bias) in [(3, 16, 3, True), (4, 8, 1, False), (1, 1, 1, True)]:
        conv = nn.Conv2d(cin, cout, k, bias=bias).eval()
        bn = nn.BatchNorm2d(cout).eval()
        randomize_bn(bn)
        fc = fuse_conv_bn_eval(conv, bn)
        folds.append({'kind': 'conv', 'convStateDict': state(conv.state_dict()), 'bnStateDict': state(bn.state_dict()), 'eps': bn.eps,
                      'weight': f32(fc.weight), 'bias': f32(fc.bias)})
    for bias in [True, False]:
        lin = nn.Linear(12, 6, bias=bias).eval()
        bn = nn.BatchNorm1d(6).eval()
        randomize_bn(bn)
        w, b = fuse_linear_bn_weights(lin.weight, lin.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
        folds.append({'kind': 'linear', 'linearStateDict': state(lin.state_dict()), 'bnStateDict': state(bn.state_dict()), 'eps': bn.eps,
                      'weight': f32(w), 'bias': f32(b)})
    with open(os.path.join(OUT, 'converter_fusion.json'), 'w') as f:
        json.dump({'generator': 'tools/goldens/converter_eager.py', **meta, 'cases': folds}, f)

    # quantize_dynamic: Linear -> ReLU -> Linear, {nn.Linear} with qint8, engine qnnpack.
    torch.manual_seed(SEED + 3)
    mlp = nn.Sequential(nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 4)).eval()
    x = torch.randn(5, 16)
    torch.backends.quantized.engine = 'qnnpack'
    qd = quantize_dynamic(mlp, {nn.Linear}, dtype=torch.qint8)
    with torch.no_grad():
        y = qd(x)
    dyn = {'floatStateDict': state(mlp.state_dict()), 'input': f32(x), 'engine': 'qnnpack', 'output': f32(y), 'repr': repr(qd),
           'weights': {p: {'weight': codes(m.weight()), 'weightQparams': qparams(m.weight())} for p, m in qd.named_modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)}}
    with open(os.path.join(OUT, 'converter_dynamic.json'), 'w') as f:
        json.dump({'generator': 'tools/goldens/converter_eager.py', **meta, **dyn}, f)


if __name__ == '__main__':
    main()
