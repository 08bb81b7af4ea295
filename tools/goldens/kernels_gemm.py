#!/usr/bin/python3
"""Goldens for the conv/linear kernels and quantize/dequantize of @quint/kernels-js (issue 4).

Runs real PyTorch 1.13 (Debian python3-torch 1.13.1+dfsg-4) on the engines `qnnpack` and `onednn`
and writes into packages/backend-conformance/goldens/:

  kernels-gemm.json      conv2d, conv2dRelu, linear, linearRelu, linearDynamic
  kernels-quantize.json  quantizePerTensor, quantizePerChannel, dequantize

File: {generator, torchPackage, torchVersion, seed, threads, cases}. A gemm case:
  {op, engine, name, input, weight, bias, params, output}
  input   {shape, dtype 'quint8', scale, zeroPoint, codes}   (linearDynamic: {shape, floatBits})
  weight  {shape, dtype 'qint8', scale, zeroPoint | scales, zeroPoints, axis, codes}
  bias    [float32 values as doubles] | null
  params  conv2d: {stride, padding, dilation, groups}; linearDynamic: {reduceRange}
  output  {shape, scale, zeroPoint, codes}                    (linearDynamic: {shape, floatBits})
`codes` are hex strings of the codes in C (NCHW) order, one byte each (int8 as two's complement);
`floatBits` are hex strings of float32 bit patterns, 8 hex digits each, big-endian per value.
Scales are the doubles given to PyTorch (q_scale() returns them unchanged).

Engine onednn: this machine's CPU has AVX2 but no VNNI, and oneDNN's AVX2 int8 kernels sum pairs of
u8·s8 products with `vpmaddubsw`, saturating to int16 (spec §11.3); VNNI hardware (`vpdpbusd`) does
not saturate, and the onednn engine of quint models that exact arithmetic (spec §5.2b, verified on a
VNNI CPU). So onednn cases draw weight codes in [-64, 64]: |x·w| ≤ 255·64 = 16320, and no pair sum
can reach 32767, so AVX2 and VNNI agree.

Every case prepacks its own weight: PyTorch's qnnpack linear caches its requantization scales in the
packed weight keyed by the input scale only, so reusing a packed weight with another output scale
silently reuses the old multiplier (PackedLinearWeightsQnnp::apply_impl, 1.13).

Usage: /usr/bin/python3 tools/goldens/kernels_gemm.py
"""
import json, os, subprocess
import numpy as np
import torch

SEED = 20240513
TORCH_PACKAGE = subprocess.run(['dpkg-query', '-W', '-f=${Version}', 'python3-torch'],
                               capture_output=True, text=True).stdout.strip() or 'unknown'
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'packages',
                       'backend-conformance', 'goldens')
ENGINES = ['qnnpack', 'onednn']
f32 = np.float32
rng = np.random.default_rng(SEED)
torch.manual_seed(SEED)
torch.set_num_threads(1)


def fs(x):
    """A float32-representable double (what an observer produces)."""
    return float(f32(x))


def hexcodes(a):
    return np.asarray(a).astype(np.int64).astype(np.uint8).ravel().tobytes().hex()


def hexfloats(a):
    return np.asarray(a, dtype='>f4').ravel().tobytes().hex()


def qx(codes, scale, zp):
    return torch._make_per_tensor_quantized_tensor(torch.from_numpy(np.asarray(codes, np.uint8).copy()), scale, zp)


def qw(codes, scale, zp):
    """qint8 weight: per tensor when `scale` is a number, per channel (axis 0) when a list."""
    t = torch.from_numpy(np.asarray(codes, np.int8).copy())
    if isinstance(scale, list):
        return torch._make_per_channel_quantized_tensor(t, torch.tensor(scale, dtype=torch.double),
                                                        torch.tensor(zp, dtype=torch.long), 0)
    return torch._make_per_tensor_quantized_tensor(t, scale, zp)


def desc_x(t):
    return {'shape': list(t.shape), 'dtype': 'quint8', 'scale': t.q_scale(), 'zeroPoint': t.q_zero_point(),
            'codes': hexcodes(t.int_repr().contiguous().numpy())}


def desc_w(t):
    d = {'shape': list(t.shape), 'dtype': 'qint8', 'codes': hexcodes(t.int_repr().contiguous().numpy())}
    if t.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
        d.update(scales=t.q_per_channel_scales().tolist(), zeroPoints=t.q_per_channel_zero_points().tolist(),
                 axis=t.q_per_channel_axis())
    else:
        d.update(scale=t.q_scale(), zeroPoint=t.q_zero_point())
    return d


def desc_y(t):
    return {'shape': list(t.shape), 'scale': t.q_scale(), 'zeroPoint': t.q_zero_point(),
            'codes': hexcodes(t.int_repr().contiguous().numpy())}


def rand_x(shape, lo=0, hi=255):
    return rng.integers(lo, hi + 1, size=shape).astype(np.uint8)


def rand_w(shape, lo=-127, hi=127):
    return rng.integers(lo, hi + 1, size=shape).astype(np.int8)


def rand_bias(n, mag):
    return [float(v) for v in (rng.standard_normal(n) * mag).astype(f32)]


def wscales(n, per_channel, lo=0.002, hi=0.02):
    if per_channel:
        return [fs(v) for v in rng.uniform(lo, hi, n)]
    return fs(rng.uniform(lo, hi))


def no_pair_saturation(engine, w_range):
    """onednn: weight codes within [-64, 64], so no AVX2 int16 pair sum saturates (see the docstring)."""
    if engine != 'onednn':
        return w_range
    return (max(w_range[0], -64), min(w_range[1], 64))


# ----------------------------------------------------------------------------------------------
def conv_case(cases, engine, name, *, x_shape, w_shape, stride=1, padding=0, dilation=1, groups=1,
              x_scale, x_zp, w_scale, w_zp=0, bias, out_scale, out_zp, relu=False, x_range=(0, 255),
              w_range=(-127, 127)):
    torch.backends.quantized.engine = engine
    w_range = no_pair_saturation(engine, w_range)
    x = qx(rand_x(x_shape, *x_range), x_scale, x_zp)
    oc = w_shape[0]
    zps = w_zp if isinstance(w_zp, list) else ([w_zp] * oc if isinstance(w_scale, list) else w_zp)
    w = qw(rand_w(w_shape, *w_range), w_scale, zps)
    b = torch.tensor(bias, dtype=torch.float) if bias is not None else None
    pair = lambda v: [v, v] if isinstance(v, int) else list(v)
    packed = torch.ops.quantized.conv2d_prepack(w, b, pair(stride), pair(padding), pair(dilation), groups)
    f = torch.ops.quantized.conv2d_relu if relu else torch.ops.quantized.conv2d
    y = f(x, packed, out_scale, out_zp)
    cases.append({'op': 'conv2dRelu' if relu else 'conv2d', 'engine': engine, 'name': name, 'input': desc_x(x),
                  'weight': desc_w(w), 'bias': bias,
                  'params': {'stride': pair(stride), 'padding': pair(padding), 'dilation': pair(dilation),
                             'groups': groups},
                  'output': desc_y(y)})


def linear_case(cases, engine, name, *, x_shape, n, x_scale, x_zp, w_scale, w_zp=0, bias, out_scale,
                out_zp, relu=False, x_range=(0, 255), w_range=(-127, 127)):
    torch.backends.quantized.engine = engine
    w_range = no_pair_saturation(engine, w_range)
    k = x_shape[-1]
    x = qx(rand_x(x_shape, *x_range), x_scale, x_zp)
    zps = w_zp if isinstance(w_zp, list) else ([w_zp] * n if isinstance(w_scale, list) else w_zp)
    w = qw(rand_w((n, k), *w_range), w_scale, zps)
    b = torch.tensor(bias, dtype=torch.float) if bias is not None else None
    packed = torch.ops.quantized.linear_prepack(w, b)
    f = torch.ops.quantized.linear_relu if relu else torch.ops.quantized.linear
    y = f(x, packed, out_scale, out_zp)
    cases.append({'op': 'linearRelu' if relu else 'linear', 'engine': engine, 'name': name, 'input': desc_x(x),
                  'weight': desc_w(w), 'bias': bias, 'params': {}, 'output': desc_y(y)})


def dynamic_case(cases, engine, name, *, x_shape, n, x_std, x_shift, w_scale, bias, reduce_range):
    torch.backends.quantized.engine = engine
    k = x_shape[-1]
    x = (rng.standard_normal(x_shape) * x_std + x_shift).astype(f32)
    codes = rand_w((n, k))
    if engine == 'onednn' and not reduce_range:
        # activation codes 0..255: halve the weight codes into [-64, 63] so no AVX2 pair sum saturates
        # (see the docstring); halving rather than redrawing keeps the random stream of later cases
        codes = codes // 2
    w = qw(codes, w_scale, [0] * n if isinstance(w_scale, list) else 0)
    b = torch.tensor(bias, dtype=torch.float) if bias is not None else None
    packed = torch.ops.quantized.linear_prepack(w, b)
    y = torch.ops.quantized.linear_dynamic(torch.from_numpy(x), packed, reduce_range).numpy()
    cases.append({'op': 'linearDynamic', 'engine': engine, 'name': name,
                  'input': {'shape': list(x.shape), 'floatBits': hexfloats(x)},
                  'weight': desc_w(w), 'bias': bias, 'params': {'reduceRange': reduce_range},
                  'output': {'shape': list(y.shape), 'floatBits': hexfloats(y)}})


def gemm():
    cases = []
    for engine in ENGINES:
        qn = engine == 'qnnpack'
        # --- conv2d: the shapes of the issue (stride/padding/dilation, groups, depthwise, 1x1, large K)
        conv_case(cases, engine, 'basic 3x3 pad1 per-tensor bias', x_shape=(1, 3, 7, 7), w_shape=(4, 3, 3, 3),
                  padding=1, x_scale=fs(0.02), x_zp=128, w_scale=wscales(4, False), bias=rand_bias(4, 0.5),
                  out_scale=fs(0.05), out_zp=120)
        conv_case(cases, engine, 'stride2 odd 9x11 per-channel no bias', x_shape=(2, 5, 9, 11), w_shape=(6, 5, 3, 3),
                  stride=2, x_scale=fs(0.03), x_zp=7, w_scale=wscales(6, True), bias=None, out_scale=fs(0.08),
                  out_zp=131)
        conv_case(cases, engine, 'depthwise 3x3 pad1 per-channel', x_shape=(1, 8, 6, 5), w_shape=(8, 1, 3, 3),
                  padding=1, groups=8, x_scale=fs(0.05), x_zp=100, w_scale=wscales(8, True),
                  bias=rand_bias(8, 0.3), out_scale=fs(0.04), out_zp=90)
        conv_case(cases, engine, 'depthwise 5x5 stride2 pad2 per-tensor', x_shape=(1, 6, 11, 10), w_shape=(6, 1, 5, 5),
                  stride=2, padding=2, groups=6, x_scale=fs(0.04), x_zp=3, w_scale=wscales(6, False),
                  bias=rand_bias(6, 0.2), out_scale=fs(0.1), out_zp=60)
        conv_case(cases, engine, 'groups2 3x2 kernel dilation2 pad(1,2)', x_shape=(1, 4, 8, 9), w_shape=(6, 2, 3, 2),
                  padding=(1, 2), dilation=2, groups=2, x_scale=fs(0.025), x_zp=140, w_scale=wscales(6, True),
                  bias=rand_bias(6, 0.4), out_scale=fs(0.06), out_zp=128)
        conv_case(cases, engine, '1x1 conv on 1x1 input batch 2', x_shape=(2, 16, 1, 1), w_shape=(5, 16, 1, 1),
                  x_scale=fs(0.1), x_zp=0, w_scale=wscales(5, False), bias=rand_bias(5, 1.0), out_scale=fs(0.2),
                  out_zp=64)
        conv_case(cases, engine, 'large K 256x3x3', x_shape=(1, 256, 4, 3), w_shape=(3, 256, 3, 3),
                  x_scale=fs(0.01), x_zp=128, w_scale=wscales(3, True, 0.0005, 0.001), bias=rand_bias(3, 0.5),
                  out_scale=fs(0.3), out_zp=128)
        conv_case(cases, engine, 'saturation at 0 and 255', x_shape=(1, 3, 6, 6), w_shape=(4, 3, 3, 3),
                  x_scale=fs(0.05), x_zp=128, w_scale=wscales(4, False, 0.01, 0.02), bias=rand_bias(4, 0.5),
                  out_scale=fs(0.01), out_zp=128)
        conv_case(cases, engine, 'multiplier > 1', x_shape=(1, 2, 5, 5), w_shape=(3, 2, 2, 2),
                  x_scale=0.5, x_zp=120, w_scale=0.1, bias=rand_bias(3, 0.2), out_scale=0.01, out_zp=128,
                  x_range=(118, 122), w_range=(-3, 3))
        conv_case(cases, engine, 'tiny multiplier', x_shape=(1, 4, 5, 5), w_shape=(2, 4, 3, 3),
                  x_scale=fs(0.01), x_zp=128, w_scale=fs(0.01), bias=rand_bias(2, 0.1), out_scale=fs(3.0),
                  out_zp=100)
        conv_case(cases, engine, 'double scales 0.1 (not float32)', x_shape=(1, 3, 5, 5), w_shape=(3, 3, 3, 3),
                  padding=1, x_scale=0.1, x_zp=50, w_scale=[0.003, 0.007, 0.011], bias=rand_bias(3, 1.0),
                  out_scale=0.3, out_zp=30)
        for i in range(6):
            # Random configurations: the multiplier-rounding and tie cases come from many scale triples.
            c = int(rng.integers(1, 6)); oc = int(rng.integers(1, 7)); kh = int(rng.integers(1, 4)); kw = int(rng.integers(1, 4))
            h = int(rng.integers(kh + 1, 9)); w_ = int(rng.integers(kw + 1, 9))
            pc = bool(i % 2)
            conv_case(cases, engine, f'random {i}', x_shape=(int(rng.integers(1, 3)), c, h, w_), w_shape=(oc, c, kh, kw),
                      stride=int(rng.integers(1, 3)), padding=int(rng.integers(0, 2)), x_scale=fs(rng.uniform(0.005, 0.1)),
                      x_zp=int(rng.integers(0, 256)), w_scale=wscales(oc, pc), bias=rand_bias(oc, 0.3) if i % 3 else None,
                      out_scale=fs(rng.uniform(0.01, 0.2)), out_zp=int(rng.integers(0, 256)), relu=i >= 3)
        for name, kw_ in [
            ('relu basic 3x3', dict(x_shape=(1, 3, 6, 6), w_shape=(4, 3, 3, 3), padding=1, w_scale=wscales(4, False))),
            ('relu depthwise per-channel', dict(x_shape=(1, 4, 5, 5), w_shape=(4, 1, 3, 3), groups=4, w_scale=wscales(4, True))),
        ]:
            conv_case(cases, engine, name, x_scale=fs(0.03), x_zp=128, bias=rand_bias(kw_['w_shape'][0], 0.3),
                      out_scale=fs(0.04), out_zp=100, relu=True, **kw_)
        if qn:
            # Weight zero points other than 0: qnnpack only (onednn refuses, spec §5.2b).
            conv_case(cases, engine, 'weight zp 5 per-tensor', x_shape=(1, 3, 6, 6), w_shape=(4, 3, 3, 3),
                      x_scale=fs(0.02), x_zp=128, w_scale=fs(0.01), w_zp=5, bias=rand_bias(4, 0.3),
                      out_scale=fs(0.05), out_zp=128)
            conv_case(cases, engine, 'weight zp per channel', x_shape=(1, 2, 5, 5), w_shape=(3, 2, 3, 3),
                      x_scale=fs(0.02), x_zp=10, w_scale=wscales(3, True), w_zp=[-3, 0, 7], bias=rand_bias(3, 0.3),
                      out_scale=fs(0.05), out_zp=128, w_range=(-120, 120))
        # --- linear
        linear_case(cases, engine, '2-D 3x17 -> 5 per-tensor bias', x_shape=(3, 17), n=5, x_scale=fs(0.02), x_zp=128,
                    w_scale=wscales(5, False), bias=rand_bias(5, 0.5), out_scale=fs(0.05), out_zp=120)
        linear_case(cases, engine, '2-D per-channel no bias', x_shape=(4, 9), n=7, x_scale=fs(0.04), x_zp=3,
                    w_scale=wscales(7, True), bias=None, out_scale=fs(0.03), out_zp=20)
        linear_case(cases, engine, '3-D input 2x3x10', x_shape=(2, 3, 10), n=4, x_scale=fs(0.05), x_zp=90,
                    w_scale=wscales(4, True), bias=rand_bias(4, 0.3), out_scale=fs(0.07), out_zp=110)
        linear_case(cases, engine, 'batch 1 K 1', x_shape=(1, 1), n=3, x_scale=fs(0.1), x_zp=0,
                    w_scale=wscales(3, False), bias=rand_bias(3, 0.5), out_scale=fs(0.02), out_zp=128)
        linear_case(cases, engine, 'large K 4096', x_shape=(1, 4096), n=3, x_scale=fs(0.01), x_zp=128,
                    w_scale=wscales(3, True, 0.0002, 0.0004), bias=rand_bias(3, 0.5), out_scale=fs(0.2), out_zp=128)
        linear_case(cases, engine, 'saturation at 0 and 255', x_shape=(4, 12), n=6, x_scale=fs(0.05), x_zp=128,
                    w_scale=wscales(6, False, 0.01, 0.03), bias=rand_bias(6, 0.5), out_scale=fs(0.01), out_zp=128)
        linear_case(cases, engine, 'multiplier > 1', x_shape=(3, 6), n=4, x_scale=0.5, x_zp=120, w_scale=0.1,
                    bias=rand_bias(4, 0.2), out_scale=0.01, out_zp=128, x_range=(118, 122), w_range=(-2, 2))
        linear_case(cases, engine, 'huge multiplier 2500 (preRound beyond int32)', x_shape=(2, 64), n=3, x_scale=0.5,
                    x_zp=0, w_scale=0.5, bias=None, out_scale=1e-4, out_zp=10, x_range=(200, 255), w_range=(60, 127))
        linear_case(cases, engine, 'tiny multiplier', x_shape=(2, 8), n=3, x_scale=fs(0.01), x_zp=128,
                    w_scale=fs(0.01), bias=rand_bias(3, 0.1), out_scale=fs(5.0), out_zp=100)
        for i in range(8):
            k = int(rng.integers(1, 70)); n = int(rng.integers(1, 9))
            linear_case(cases, engine, f'random {i}', x_shape=(int(rng.integers(1, 5)), k), n=n,
                        x_scale=fs(rng.uniform(0.005, 0.1)), x_zp=int(rng.integers(0, 256)),
                        w_scale=wscales(n, bool(i % 2)), bias=rand_bias(n, 0.3) if i % 3 else None,
                        out_scale=fs(rng.uniform(0.01, 0.2)), out_zp=int(rng.integers(0, 256)), relu=i >= 4)
        linear_case(cases, engine, 'relu 2-D', x_shape=(3, 20), n=6, x_scale=fs(0.03), x_zp=128,
                    w_scale=wscales(6, True), bias=rand_bias(6, 0.3), out_scale=fs(0.04), out_zp=100, relu=True)
        if qn:
            linear_case(cases, engine, 'weight zp -4 per-tensor', x_shape=(2, 15), n=4, x_scale=fs(0.02), x_zp=128,
                        w_scale=fs(0.01), w_zp=-4, bias=rand_bias(4, 0.3), out_scale=fs(0.05), out_zp=128,
                        w_range=(-120, 120))
        # --- dynamic linear (bit-exact on both engines, spec §5.10; onednn: tools/goldens/onednn_dynamic_probe.py)
        for i, (shape, n, pc, rr, std, shift) in enumerate([
            ((3, 17), 5, False, True, 1.0, 0.0), ((2, 33), 4, True, True, 2.0, 0.5), ((4, 8), 3, False, False, 0.3, 1.0),
            ((2, 3, 12), 6, True, False, 1.5, -0.2), ((1, 1), 2, False, True, 1.0, 0.0), ((5, 40), 7, False, True, 3.0, 0.0),
        ]):
            dynamic_case(cases, engine, f'{"x".join(map(str, shape))} -> {n} {"per-channel" if pc else "per-tensor"} reduceRange {rr}',
                         x_shape=shape, n=n, x_std=std, x_shift=shift, w_scale=wscales(n, pc),
                         bias=rand_bias(n, 0.5) if i % 2 == 0 else None, reduce_range=rr)
    return cases


# ----------------------------------------------------------------------------------------------
def quantize():
    """quantize_per_tensor / per_channel / dequantize: engine-independent in PyTorch (the build decides,
    spec §1.2); recorded once per engine so each engine's kernel is checked."""
    cases = []
    ties = np.array([-1.0, 0.0, 0.05, 0.15, 0.25, 0.35, 1.0, 24.6, -0.05, -0.25, 12.75, 3.3], f32)
    rnd = (rng.standard_normal(61) * 3).astype(f32)
    for engine in ENGINES:
        torch.backends.quantized.engine = engine
        for name, x, s, zp, dt in [('ties scale 0.1 zp 10 quint8', ties, 0.1, 10, torch.quint8),
                                   ('random quint8', rnd, fs(0.023), 131, torch.quint8),
                                   ('random qint8', rnd, fs(0.031), -3, torch.qint8),
                                   ('odd zp ties qint8', ties, 0.05, 1, torch.qint8)]:
            q = torch.quantize_per_tensor(torch.from_numpy(x), s, zp, dt)
            dtn = 'quint8' if dt == torch.quint8 else 'qint8'
            cases.append({'op': 'quantizePerTensor', 'engine': engine, 'name': name,
                          'input': {'shape': list(x.shape), 'floatBits': hexfloats(x)},
                          'params': {'scale': s, 'zeroPoint': zp, 'dtype': dtn},
                          'output': {'shape': list(q.shape), 'dtype': dtn, 'scale': s, 'zeroPoint': zp,
                                     'codes': hexcodes(q.int_repr().numpy())}})
            d = q.dequantize().numpy()
            cases.append({'op': 'dequantize', 'engine': engine, 'name': name,
                          'input': {'shape': list(q.shape), 'dtype': dtn, 'scale': s, 'zeroPoint': zp,
                                    'codes': hexcodes(q.int_repr().numpy())},
                          'output': {'shape': list(d.shape), 'floatBits': hexfloats(d)}})
        x = (rng.standard_normal((3, 4, 5)) * 2).astype(f32)
        for name, scales, zps, axis in [('axis 0 float32 scales', [fs(0.01), fs(0.02), fs(0.05)], [0, 3, -2], 0),
                                        ('axis 1 double scales', [0.1, 0.03, 0.007, 0.3], [0, 0, 5, -5], 1)]:
            q = torch.quantize_per_channel(torch.from_numpy(x), torch.tensor(scales, dtype=torch.double),
                                           torch.tensor(zps), axis, torch.qint8)
            cases.append({'op': 'quantizePerChannel', 'engine': engine, 'name': name,
                          'input': {'shape': list(x.shape), 'floatBits': hexfloats(x)},
                          'params': {'scales': scales, 'zeroPoints': zps, 'axis': axis, 'dtype': 'qint8'},
                          'output': {'shape': list(q.shape), 'dtype': 'qint8', 'scales': scales, 'zeroPoints': zps,
                                     'axis': axis, 'codes': hexcodes(q.int_repr().numpy())}})
            d = q.dequantize().numpy()
            cases.append({'op': 'dequantize', 'engine': engine, 'name': f'per-channel {name}',
                          'input': {'shape': list(q.shape), 'dtype': 'qint8', 'scales': scales, 'zeroPoints': zps,
                                    'axis': axis, 'codes': hexcodes(q.int_repr().numpy())},
                          'output': {'shape': list(d.shape), 'floatBits': hexfloats(d)}})
    return cases


def write(name, cases):
    doc = {'generator': 'tools/goldens/kernels_gemm.py', 'torchPackage': TORCH_PACKAGE,
           'torchVersion': torch.__version__, 'seed': SEED, 'threads': 1, 'cases': cases}
    path = os.path.join(OUT_DIR, name)
    with open(path, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    print(f'{path}: {len(cases)} cases, {os.path.getsize(path)} bytes')


if __name__ == '__main__':
    write('kernels-gemm.json', gemm())
    write('kernels-quantize.json', quantize())
