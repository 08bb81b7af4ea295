#!/usr/bin/python3
"""Goldens for @quint/tensor's float reference ops, from real PyTorch 1.13 (Debian python3-torch).

Run: /usr/bin/python3 tools/goldens/tensor_ops.py
Writes packages/tensor/test/goldens/ops.json (inputs and outputs as base64 little-endian float32) and
packages/tensor/test/goldens/npy/*.npy (files written by numpy, for the .npy reader tests).
One intra-op thread, as spec pytorch-semantics.md §11.2 assumes.
"""
import base64, json, os, subprocess, sys
import numpy as np
import torch
import torch.nn.functional as F

SEED = 20240613
torch.set_num_threads(1)
torch.manual_seed(SEED)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'packages', 'tensor', 'test', 'goldens')
os.makedirs(os.path.join(ROOT, 'npy'), exist_ok=True)


def deb_version():
    try:
        return subprocess.run(['dpkg-query', '-W', '-f=${Version}', 'python3-torch'], capture_output=True, text=True).stdout.strip()
    except Exception:
        return 'unknown'


def enc(t):
    a = t.detach().numpy().astype('<f4').copy(order='C')  # keeps 0-d shapes (ascontiguousarray would not)
    return {'shape': list(t.shape), 'b64': base64.b64encode(a.tobytes()).decode()}


cases = []
tensors = {}  # shared inputs, stored once: key -> encoded tensor


def ref(t):
    e = enc(t)
    key = 't%d' % len(tensors)
    for k, v in tensors.items():
        if v == e:
            return k
    tensors[key] = e
    return key


def case(name, op, inputs, out, **args):
    cases.append({'name': name, 'op': op, 'args': args, 'inputs': {k: (ref(v) if v is not None else None) for k, v in inputs.items()}, 'expected': enc(out)})


def rn(*shape, scale=1.0):
    return (torch.randn(*shape) * scale).float()


# ---- conv2d: every kernel PyTorch 1.13 picks (slow_conv2d, oneDNN direct ic<16 / ic>=16, 1x1, depthwise)
conv_cfgs = [
    # name, N, C, H, W, OC, k, stride, padding, dilation, groups, bias
    ('1x1_s1_n1_ic8_slow', 1, 8, 9, 9, 6, 1, 1, 0, 1, 1, True),
    ('1x1_s1_n2_ic64_slow', 2, 64, 6, 6, 8, 1, 1, 0, 1, 1, True),
    ('3x3_p1_n1_ic3_small_slow', 1, 3, 8, 8, 4, 3, 1, 1, 1, 1, True),
    ('3x3_p1_n2_ic3_direct', 2, 3, 8, 8, 5, 3, 1, 1, 1, 1, True),
    ('3x3_p1_n2_ic8_direct', 2, 8, 7, 7, 6, 3, 1, 1, 1, 1, True),
    ('3x3_p1_n2_ic32_direct', 2, 32, 6, 6, 8, 3, 1, 1, 1, 1, True),
    ('3x3_s2_p1_n2_ic24_direct', 2, 24, 9, 9, 4, 3, 2, 1, 1, 1, True),
    ('3x3_p1_n2_ic16_nobias', 2, 16, 5, 5, 4, 3, 1, 1, 1, 1, False),
    ('3x3_d2_p2_n2_ic4', 2, 4, 9, 9, 3, 3, 1, 2, 2, 1, True),
    ('3x3_d2_n1_ic4_slow_dilated', 1, 4, 9, 9, 3, 3, 1, 0, 2, 1, True),
    ('5x5_p2_n1_ic3', 1, 3, 10, 10, 4, 5, 1, 2, 1, 1, True),
    ('7x7_s2_p3_n2_ic3_stem', 2, 3, 20, 20, 8, 7, 2, 3, 1, 1, False),
    ('1x1_s2_n2_ic32_onednn1x1', 2, 32, 8, 8, 16, 1, 2, 0, 1, 1, True),
    ('1x1_s2_n1_ic8_onednn1x1', 1, 8, 8, 8, 4, 1, 2, 0, 1, 1, True),
    ('dw3x3_p1_n1_c16', 1, 16, 8, 8, 16, 3, 1, 1, 1, 16, True),
    ('dw3x3_s2_p1_n2_c8', 2, 8, 9, 9, 8, 3, 2, 1, 1, 8, True),
    ('dw3x3_mult2_n1_c4', 1, 4, 7, 7, 8, 3, 1, 1, 1, 4, True),
    ('grouped2_3x3_n1_ic8', 1, 8, 7, 7, 6, 3, 1, 1, 1, 2, True),
    ('grouped2_3x3_n2_ic64', 2, 64, 5, 5, 8, 3, 1, 1, 1, 2, True),
    ('3x3_s1_p0_n2_ic17_rect', 2, 17, 6, 9, 3, 3, 1, 0, 1, 1, True),
]
for name, N, C, H, W, OC, k, s, p, d, g, b in conv_cfgs:
    x = rn(N, C, H, W)
    w = rn(OC, C // g, k, k, scale=0.2)
    bias = rn(OC) if b else None
    y = F.conv2d(x, w, bias, stride=s, padding=p, dilation=d, groups=g)
    case('conv2d_' + name, 'conv2d', {'x': x, 'weight': w, 'bias': bias}, y, stride=s, padding=p, dilation=d, groups=g)

# ---- linear / matmul
for name, xs, (o, i), b in [('2d', (3, 20), (5, 20), True), ('2d_nobias', (4, 33), (7, 33), False), ('3d', (2, 3, 16), (5, 16), True), ('1d', (12,), (4, 12), True)]:
    x = rn(*xs)
    w = rn(o, i, scale=0.3)
    bias = rn(o) if b else None
    case('linear_' + name, 'linear', {'x': x, 'weight': w, 'bias': bias}, F.linear(x, w, bias))
for name, a_s, b_s in [('2d', (4, 9), (9, 5)), ('1d_2d', (9,), (9, 5)), ('2d_1d', (4, 9), (9,)), ('bmm_small', (2, 3, 4), (2, 4, 5)), ('bmm_large', (2, 8, 16), (2, 16, 10)), ('broadcast', (2, 3, 6), (6, 4))]:
    a = rn(*a_s)
    bb = rn(*b_s)
    case('matmul_' + name, 'matmul', {'x': a, 'other': bb}, torch.matmul(a, bb))

# ---- elementwise activations; sigmoid sizes leave both a Sleef vector part and a scalar tail
act = rn(600, scale=4.0)
act[:6] = torch.tensor([-3.0, 3.0, 0.0, -0.0, 6.0, -6.0])
case('relu', 'relu', {'x': act}, F.relu(act))
case('relu6', 'relu6', {'x': act}, F.relu6(act))
case('hardtanh_default', 'hardtanh', {'x': act}, F.hardtanh(act))
case('hardtanh_custom', 'hardtanh', {'x': act}, F.hardtanh(act, -0.5, 2.0), minVal=-0.5, maxVal=2.0)
case('hardswish', 'hardswish', {'x': act}, F.hardswish(act))
case('hardsigmoid', 'hardsigmoid', {'x': act}, F.hardsigmoid(act))
for n in [1003, 16, 15, 100]:
    x = rn(n, scale=4.0)
    case(f'sigmoid_{n}', 'sigmoid', {'x': x}, torch.sigmoid(x))
xs4 = rn(2, 3, 5, 7, scale=3.0)
case('sigmoid_4d', 'sigmoid', {'x': xs4}, torch.sigmoid(xs4))
tx = rn(1000, scale=2.0)
case('tanh', 'tanh', {'x': tx}, torch.tanh(tx))

# ---- add / mul
a = rn(2, 3, 4, 5)
bb = rn(2, 3, 4, 5)
c = rn(3, 1, 1)
case('add_same', 'add', {'x': a, 'other': bb}, a + bb)
case('add_broadcast', 'add', {'x': a, 'other': c}, a + c)
case('add_scalar', 'add', {'x': a}, a + 0.1, scalar=0.1)
case('mul_same', 'mul', {'x': a, 'other': bb}, a * bb)
case('mul_broadcast', 'mul', {'x': a, 'other': c}, a * c)
case('mul_scalar', 'mul', {'x': a}, a * 0.3, scalar=0.3)

# ---- cat
c1, c2, c3 = rn(2, 3, 4, 4), rn(2, 5, 4, 4), rn(2, 1, 4, 4)
case('cat_dim1', 'cat', {'x': c1, 'other': c2, 'third': c3}, torch.cat([c1, c2, c3], 1), dim=1)
case('cat_dim0', 'cat', {'x': c1, 'other': c1}, torch.cat([c1, c1], 0), dim=0)

# ---- pooling
px = rn(2, 3, 11, 11)
for name, kw in [('k3s2p1', dict(kernel_size=3, stride=2, padding=1)), ('k2', dict(kernel_size=2)), ('k3s2_ceil', dict(kernel_size=3, stride=2, ceil_mode=True)),
                 ('k3s1p1_d2', dict(kernel_size=3, stride=1, padding=1, dilation=2)), ('k3s3p1_ceil', dict(kernel_size=3, stride=3, padding=1, ceil_mode=True))]:
    y = F.max_pool2d(px, **kw)
    args = {'kernelSize': kw['kernel_size'], 'stride': kw.get('stride'), 'padding': kw.get('padding', 0), 'dilation': kw.get('dilation', 1), 'ceilMode': kw.get('ceil_mode', False)}
    case('maxPool2d_' + name, 'maxPool2d', {'x': px}, y, **args)
for name, kw in [('k3s2p1_cip', dict(kernel_size=3, stride=2, padding=1)), ('k3s2p1_nocip', dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
                 ('k3s1p1_nocip', dict(kernel_size=3, stride=1, padding=1, count_include_pad=False)), ('k2', dict(kernel_size=2)),
                 ('k3s2_ceil', dict(kernel_size=3, stride=2, ceil_mode=True)), ('k4s3p2_ceil_cip', dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)),
                 ('k4s3p2_ceil_nocip', dict(kernel_size=4, stride=3, padding=2, ceil_mode=True, count_include_pad=False)),
                 ('k3s2p1_div5', dict(kernel_size=3, stride=2, padding=1, divisor_override=5)), ('k5s2p2', dict(kernel_size=5, stride=2, padding=2))]:
    y = F.avg_pool2d(px, **kw)
    args = {'kernelSize': kw['kernel_size'], 'stride': kw.get('stride'), 'padding': kw.get('padding', 0), 'ceilMode': kw.get('ceil_mode', False),
            'countIncludePad': kw.get('count_include_pad', True), 'divisorOverride': kw.get('divisor_override')}
    case('avgPool2d_' + name, 'avgPool2d', {'x': px}, y, **args)
for name, (H, W), out in [('10to3', (10, 10), [3, 3]), ('10to2', (10, 10), [2, 2]), ('7to2', (7, 7), [2, 2]), ('9to4', (9, 9), [4, 4]), ('12to5', (12, 12), [5, 5]),
                          ('7x10to_None3', (7, 10), [None, 3]), ('7to1', (7, 7), [1, 1]), ('2to1', (2, 2), [1, 1]), ('14to1', (14, 14), [1, 1])]:
    x = rn(2, 4, H, W, scale=2.0)
    case('adaptiveAvgPool2d_' + name, 'adaptiveAvgPool2d', {'x': x}, F.adaptive_avg_pool2d(x, out), outputSize=out)

# ---- batchNorm2d (inference)
bx = rn(2, 6, 5, 7, scale=2.0)
rm, rv, bw, bbias = rn(6), torch.rand(6) + 0.1, rn(6), rn(6)
case('batchNorm2d', 'batchNorm2d', {'x': bx, 'runningMean': rm, 'runningVar': rv, 'weight': bw, 'bias': bbias},
     F.batch_norm(bx, rm, rv, bw, bbias, training=False, eps=1e-5), eps=1e-5)
bx2 = rn(1, 3, 4, 4)
case('batchNorm2d_noaffine', 'batchNorm2d', {'x': bx2, 'runningMean': rm[:3], 'runningVar': rv[:3]},
     F.batch_norm(bx2, rm[:3], rv[:3], None, None, training=False, eps=1e-3), eps=1e-3)

# ---- softmax
for name, shape, dim in [('last10', (3, 10), -1), ('last37', (2, 37), -1), ('last5', (4, 5), 1), ('dim1_inner15', (2, 10, 3, 5), 1), ('dim0_inner16', (6, 16), 0)]:
    x = rn(*shape, scale=3.0)
    case('softmax_' + name, 'softmax', {'x': x}, F.softmax(x, dim), dim=dim)

# ---- mean
for name, shape, dims, keep in [('hw49', (2, 3, 7, 7), [2, 3], False), ('hw49_keep', (2, 3, 7, 7), [2, 3], True), ('hw5', (2, 3, 1, 5), [2, 3], True),
                                ('hw196', (1, 4, 14, 14), [-1, -2], True), ('dim1_outer', (2, 6, 5, 8), [1], False), ('dim1_outer_small', (2, 6, 2, 3), [1], False),
                                ('all', (3, 50), None, False), ('last', (4, 300), [1], False), ('dim0', (37, 40), [0], False)]:
    x = rn(*shape, scale=2.0)
    y = x.mean() if dims is None else x.mean(dims, keepdim=keep)
    case('mean_' + name, 'mean', {'x': x}, y, dims=dims, keepdim=keep)

# ---- shape ops and dropout
sx = rn(2, 3, 4, 5)
case('flatten_1', 'flatten', {'x': sx}, torch.flatten(sx, 1), startDim=1, endDim=-1)
case('flatten_1_2', 'flatten', {'x': sx}, torch.flatten(sx, 1, 2), startDim=1, endDim=2)
case('reshape', 'reshape', {'x': sx}, sx.reshape(6, -1), shape=[6, -1])
case('permute', 'permute', {'x': sx}, sx.permute(0, 2, 3, 1).contiguous(), dims=[0, 2, 3, 1])
case('dropout_eval', 'dropout', {'x': sx}, F.dropout(sx, 0.5, training=False), p=0.5)

meta = {'torch': torch.__version__, 'torchPackage': deb_version(), 'seed': SEED, 'threads': torch.get_num_threads(),
        'cpuCapability': [l.strip() for l in torch.__config__.show().splitlines() if 'CPU capability' in l],
        'cpuFlags': sorted({f for l in open('/proc/cpuinfo') if l.startswith('flags') for f in l.split() if f in ('avx2', 'fma', 'avx512f', 'avx512_vnni', 'amx_tile')}),
        'generator': 'tools/goldens/tensor_ops.py'}
with open(os.path.join(ROOT, 'ops.json'), 'w') as f:
    json.dump({'meta': meta, 'tensors': tensors, 'cases': cases}, f, separators=(',', ':'))

# ---- .npy files written by numpy itself
rng = np.random.default_rng(SEED)
npy = os.path.join(ROOT, 'npy')
np.save(os.path.join(npy, 'f32_2x3x4.npy'), rng.standard_normal((2, 3, 4)).astype('<f4'))
np.save(os.path.join(npy, 'f64_3x2.npy'), np.array([[0.1, -2.5], [1e-40, 3.4028235677973366e38], [np.pi, 1 / 3]], dtype='<f8'))
np.save(os.path.join(npy, 'i8_5.npy'), np.array([-128, -1, 0, 1, 127], dtype='i1'))
np.save(os.path.join(npy, 'u8_2x2.npy'), np.array([[0, 1], [128, 255]], dtype='u1'))
np.save(os.path.join(npy, 'i32_4.npy'), np.array([-2**31, -1, 0, 2**31 - 1], dtype='<i4'))
np.save(os.path.join(npy, 'i64_3.npy'), np.array([-2**53, 0, 2**53], dtype='<i8'))
np.save(os.path.join(npy, 'f32_scalar.npy'), np.array(1.5, dtype='<f4'))
np.save(os.path.join(npy, 'f32_empty_0x3.npy'), np.zeros((0, 3), dtype='<f4'))
np.save(os.path.join(npy, 'f32_fortran.npy'), np.asfortranarray(rng.standard_normal((3, 4)).astype('<f4')))
np.save(os.path.join(npy, 'f32_bigendian.npy'), np.arange(4, dtype='>f4'))
np.save(os.path.join(npy, 'object.npy'), np.array([1, 'a', None], dtype=object), allow_pickle=True)
np.save(os.path.join(npy, 'f16.npy'), np.arange(3, dtype='<f2'))
with open(os.path.join(npy, 'README.json'), 'w') as f:
    json.dump({'numpy': np.__version__, 'seed': SEED, 'torchPackage': deb_version(), 'generator': 'tools/goldens/tensor_ops.py',
               'f32_2x3x4': np.load(os.path.join(npy, 'f32_2x3x4.npy')).ravel().tolist()}, f)
print(len(cases), 'cases;', os.path.getsize(os.path.join(ROOT, 'ops.json')), 'bytes', file=sys.stderr)
