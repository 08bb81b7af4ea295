#!/usr/bin/python3
"""Goldens for @quint/nn's quantized modules (nnq.*, nnqd.Linear), from real PyTorch 1.13.

Run: /usr/bin/python3 tools/goldens/nn_quantized.py
Writes packages/nn/test/goldens/nn_quantized.json. Each case: a float module's state_dict, its
qconfig (described by name), the state of its output observer (MinMaxObserver min/max, loaded
before from_float), the module's from_float result (weight codes and qparams, output scale and
zero point, repr) and the output codes of forward on an input quantized with given qparams, under
torch.backends.quantized.engine = case['engine']. Tensors: base64 little-endian (float32 / int8 /
uint8 / int32 as named).
"""
import base64, json, os, subprocess
import numpy as np
import torch
import torch.nn as nn
import torch.ao.nn.intrinsic as nni
import torch.ao.nn.quantized as nnq
import torch.ao.nn.quantized.dynamic as nnqd
import torch.nn.intrinsic.quantized as nniq  # 1.13 keeps intrinsic.quantized under torch.nn
from torch.ao.quantization import QConfig, MinMaxObserver, PerChannelMinMaxObserver, QuantStub, DeQuantStub
from torch.ao.quantization.observer import default_weight_observer, default_per_channel_weight_observer, weight_observer_range_neg_127_to_127

SEED = 20240615
torch.set_num_threads(1)
torch.manual_seed(SEED)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'packages', 'nn', 'test', 'goldens', 'nn_quantized.json')


def deb_version():
    return subprocess.run(['dpkg-query', '-W', '-f=${Version}', 'python3-torch'], capture_output=True, text=True).stdout.strip()


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


ACT = MinMaxObserver.with_args(dtype=torch.quint8, qscheme=torch.per_tensor_affine)
WEIGHTS = {
    'per_tensor_symmetric': default_weight_observer,
    'per_channel_symmetric': default_per_channel_weight_observer,
    'range_neg_127_to_127': weight_observer_range_neg_127_to_127,
}

cases = []


def observe(mod, calib):
    """Attach an output MinMaxObserver and feed it the float module's outputs."""
    mod.activation_post_process = ACT()
    with torch.no_grad():
        for x in calib:
            mod.activation_post_process(mod(x) if not isinstance(mod, nnq.FloatFunctional) else x)
    return mod.activation_post_process


def add_gemm(name, engine, float_mod, qcls, weight, x, in_scale, in_zp):
    torch.backends.quantized.engine = engine
    float_mod.eval()
    for m in float_mod.modules():  # as propagate_qconfig_ leaves it
        m.qconfig = QConfig(activation=ACT, weight=WEIGHTS[weight])
    obs = observe(float_mod, [x, x * 0.5 + 0.1])
    q = qcls.from_float(float_mod)
    xq = torch.quantize_per_tensor(x, in_scale, in_zp, torch.quint8)
    y = q(xq)
    cases.append({
        'name': name, 'kind': qcls.__name__ if qcls is not nnqd.Linear else 'DynamicLinear', 'engine': engine, 'weightObserver': weight,
        'floatStateDict': {k: f32(v) for k, v in float_mod.state_dict().items() if 'activation_post_process' not in k},
        'observedOutputs': None,
        'observer': {'min_val': float(obs.min_val), 'max_val': float(obs.max_val)},
        'input': f32(x), 'inputQparams': {'scale': in_scale, 'zeroPoint': in_zp}, 'inputCodes': codes(xq),
        'weightCodes': codes(q.weight()), 'weightQparams': qparams(q.weight()),
        'scale': getattr(q, 'scale', None), 'zeroPoint': getattr(q, 'zero_point', None),
        'repr': repr(q),
        'output': codes(y) if y.is_quantized else f32(y),
        'outputQparams': qparams(y) if y.is_quantized else None,
    })


x4 = torch.randn(2, 3, 6, 6)
# conv/linear only on qnnpack: PyTorch's onednn int8 GEMM on this machine (AVX2, no VNNI) saturates
# u8·s8 pair sums to int16 (spec §11.3), so its results depend on the CPU; kernels-js implements
# the VNNI (exact int32) behaviour. onednn is covered below for the non-GEMM modules.
for engine in ['qnnpack']:
    add_gemm('conv per-tensor ' + engine, engine, nn.Conv2d(3, 4, 3, padding=1), nnq.Conv2d, 'per_tensor_symmetric', x4, 0.03, 128)
    add_gemm('conv per-channel stride2 ' + engine, engine, nn.Conv2d(3, 6, 3, stride=2, bias=False), nnq.Conv2d, 'per_channel_symmetric', x4, 0.025, 120)
    add_gemm('convrelu groups3 ' + engine, engine, nni.ConvReLU2d(nn.Conv2d(3, 6, 3, padding=1, groups=3), nn.ReLU()), nniq.ConvReLU2d, 'per_channel_symmetric', x4, 0.03, 128)
    add_gemm('linear ' + engine, engine, nn.Linear(12, 5), nnq.Linear, 'per_tensor_symmetric', torch.randn(3, 12), 0.02, 130)
    add_gemm('linearrelu per-channel ' + engine, engine, nni.LinearReLU(nn.Linear(12, 5), nn.ReLU()), nniq.LinearReLU, 'per_channel_symmetric', torch.randn(3, 12), 0.02, 130)
add_gemm('conv weight range -127..127 qnnpack', 'qnnpack', nn.Conv2d(3, 4, 1), nnq.Conv2d, 'range_neg_127_to_127', x4, 0.03, 128)
add_gemm('seed conv relu qnnpack', 'qnnpack', nni.ConvReLU2d(nn.Conv2d(1, 1, 1), nn.ReLU()), nniq.ConvReLU2d, 'per_tensor_symmetric', torch.randn(4, 1, 4, 4), 0.0264, 117)

# dynamic linear: no output observer; qconfig weight default dynamic (per-tensor symmetric)
torch.backends.quantized.engine = 'qnnpack'
lin = nn.Linear(10, 4).eval()
from torch.ao.quantization.qconfig import default_dynamic_qconfig
lin.qconfig = default_dynamic_qconfig
qd = nnqd.Linear.from_float(lin)
xd = torch.randn(3, 10)
yd = qd(xd)
cases.append({'name': 'dynamic linear qnnpack', 'kind': 'DynamicLinear', 'engine': 'qnnpack', 'weightObserver': 'per_tensor_symmetric',
              'floatStateDict': {k: f32(v) for k, v in lin.state_dict().items()}, 'input': f32(xd),
              'weightCodes': codes(qd.weight()), 'weightQparams': qparams(qd.weight()), 'repr': repr(qd), 'output': f32(yd)})

# Quantize / DeQuantize, activations and QFunctional on given inputs
for engine in ['qnnpack', 'onednn']:
    torch.backends.quantized.engine = engine
    stub = QuantStub()
    obs = observe(stub, [x4])
    quant = nnq.Quantize.from_float(stub)
    xq = quant(x4)
    cases.append({'name': 'quantize ' + engine, 'kind': 'Quantize', 'engine': engine, 'observer': {'min_val': float(obs.min_val), 'max_val': float(obs.max_val)},
                  'input': f32(x4), 'repr': repr(quant), 'output': codes(xq), 'outputQparams': qparams(xq),
                  'dequantized': f32(nnq.DeQuantize()(xq)), 'stateDictKeys': list(quant.state_dict().keys())})
    hs = nn.Hardswish()
    obs = observe(hs, [x4])
    qh = nnq.Hardswish.from_float(hs)
    cases.append({'name': 'hardswish ' + engine, 'kind': 'Hardswish', 'engine': engine, 'observer': {'min_val': float(obs.min_val), 'max_val': float(obs.max_val)},
                  'inputCodes': codes(xq), 'inputQparams': qparams(xq), 'scale': qh.scale, 'zeroPoint': qh.zero_point, 'repr': repr(qh),
                  'output': codes(qh(xq)), 'stateDictKeys': list(qh.state_dict().keys())})
    r6 = nnq.ReLU6.from_float(nn.ReLU6())
    cases.append({'name': 'relu6 ' + engine, 'kind': 'ReLU6', 'engine': engine, 'inputCodes': codes(xq), 'inputQparams': qparams(xq),
                  'repr': repr(r6), 'output': codes(r6(xq))})
    a = torch.quantize_per_tensor(torch.randn(2, 3, 4, 4), 0.02, 120, torch.quint8)
    b = torch.quantize_per_tensor(torch.randn(2, 3, 4, 4), 0.03, 135, torch.quint8)
    for op in ['add', 'add_relu', 'mul', 'cat']:
        ff = nnq.FloatFunctional()
        ff.activation_post_process = ACT()
        fa, fb = a.dequantize(), b.dequantize()
        getattr(ff, op)([fa, fb], 1) if op == 'cat' else getattr(ff, op)(fa, fb)
        obs = ff.activation_post_process
        qf = nnq.QFunctional.from_float(ff)
        y = qf.cat([a, b], 1) if op == 'cat' else getattr(qf, op)(a, b)
        cases.append({'name': 'qfunctional %s %s' % (op, engine), 'kind': 'QFunctional', 'op': op, 'engine': engine,
                      'observer': {'min_val': float(obs.min_val), 'max_val': float(obs.max_val)},
                      'a': codes(a), 'aQparams': qparams(a), 'b': codes(b), 'bQparams': qparams(b),
                      'scale': qf.scale, 'zeroPoint': qf.zero_point, 'repr': repr(qf), 'output': codes(y),
                      'stateDictKeys': list(qf.state_dict().keys())})


# An eager chain on qnnpack: float modules (ReLU, AdaptiveAvgPool2d, AvgPool2d, Flatten) running on
# quantized tensors between quantized ones, so layouts matter (conv outputs are channels_last;
# adaptive pooling 6→4 takes the NHWC generic path there, spec §12.C7).
class Chain(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d((4, 4))
        self.conv2 = nn.Conv2d(4, 4, 1)
        self.skip = nnq.FloatFunctional()
        self.avg = nn.AvgPool2d(2, stride=1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(36, 5)
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.pool(self.relu(self.conv(self.quant(x))))
        x = self.skip.add(x, self.conv2(x))
        return self.dequant(self.fc(self.flatten(self.avg(x))))


torch.backends.quantized.engine = 'qnnpack'
chain = Chain().eval()
chain.qconfig = QConfig(activation=ACT, weight=default_weight_observer)
float_sd = {k: f32(v) for k, v in chain.state_dict().items()}
prepared = torch.ao.quantization.prepare(chain)
for _ in range(3):
    prepared(torch.randn(2, 3, 6, 6))
observer_sd = {k: f32(v) for k, v in prepared.state_dict().items() if 'activation_post_process' in k}
converted = torch.ao.quantization.convert(prepared)
stages = {}
for name in ['quant', 'conv', 'relu', 'pool', 'conv2', 'avg', 'flatten', 'fc']:
    getattr(converted, name).register_forward_hook(lambda m, i, o, name=name: stages.__setitem__(name, codes(o)))
xc = torch.randn(2, 3, 6, 6)
yc = converted(xc)
cases.append({'name': 'eager chain qnnpack', 'kind': 'Chain', 'engine': 'qnnpack', 'floatStateDict': float_sd, 'observerStateDict': observer_sd,
              'input': f32(xc), 'stages': stages, 'output': f32(yc), 'repr': repr(converted)})

doc = {'generator': 'tools/goldens/nn_quantized.py', 'torch': torch.__version__, 'debianPackage': 'python3-torch ' + deb_version(),
       'seed': SEED, 'threads': 1, 'activationObserver': 'MinMaxObserver(quint8, per_tensor_affine)', 'cases': cases}
with open(OUT, 'w') as f:
    json.dump(doc, f, indent=1)
print('wrote', OUT, len(cases), 'cases')
