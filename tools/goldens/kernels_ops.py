#!/usr/bin/python3
"""Goldens for the non-GEMM quantized kernels of @quint/kernels-js (issue 4).

Runs real PyTorch 1.13 (Debian python3-torch 1.13.1+dfsg-4) on the engines `qnnpack` and `onednn`
and writes, per op family, one JSON file into packages/backend-conformance/goldens/:

  kernels-elementwise.json  add, addRelu, mul, mulRelu, cat
  kernels-activations.json  relu, relu6, hardtanh, clamp, hardswish, hardsigmoid, sigmoid, tanh
  kernels-pooling.json      maxPool2d, avgPool2d, adaptiveAvgPool2d, mean
  kernels-shape.json        reshape, flatten

File: {generator, torchPackage, torchVersion, seed, threads, tensors: {id: tensor}, cases}. Each
case: {id, op, engine, inputs: [tensor id], params, output: tensor | error: PyTorch's message};
a tensor is {shape, dtype, scale, zeroPoint, memoryFormat, codes}. `codes` are hex strings of the
uint8 codes in logical C (NCHW) order, whatever the memory format; `memoryFormat` says how PyTorch
held the tensor in memory ('channels_last' for every tensor that came out of a quantized conv,
spec §11.3), because several kernels choose their path or their vector/tail split by memory order
(spec §5.8, §12.C4). Scales are the doubles given to PyTorch.

Usage: /usr/bin/python3 tools/goldens/kernels_ops.py
"""
import json, os, subprocess, sys
import numpy as np
import torch
import torch.nn.functional as F

SEED = 20240404
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


def hexcodes(q):
    return bytes(np.asarray(q, np.uint8).ravel().tolist()).hex()


def mk(codes, scale, zp, memory_format='contiguous'):
    codes = np.asarray(codes, np.uint8)
    t = torch._make_per_tensor_quantized_tensor(torch.from_numpy(codes.copy()), scale, zp)
    if memory_format == 'channels_last':
        t = t.contiguous(memory_format=torch.channels_last)
    return t


def desc(t):
    mf = 'contiguous'
    if t.dim() == 4 and not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last):
        mf = 'channels_last'
    return {'shape': list(t.shape), 'dtype': 'quint8', 'scale': t.q_scale(), 'zeroPoint': t.q_zero_point(),
            'memoryFormat': mf, 'codes': hexcodes(t.int_repr().numpy())}


TENSORS = {}


def tensor_ref(t):
    """Inputs are stored once in the file's `tensors` table and named by id in each case."""
    d = desc(t)
    key = json.dumps(d, sort_keys=True)
    for k, v in TENSORS.items():
        if v[0] == key:
            return k
    k = f't{len(TENSORS)}'
    TENSORS[k] = (key, d)
    return k


def conv_output(shape, scale, zp):
    """A quint8 NCHW tensor that came out of a real quantized 1x1 conv (channels_last in memory, §11.3)."""
    n, c, h, w = shape
    conv = torch.ao.nn.quantized.Conv2d(3, c, 1)
    wq = torch.quantize_per_tensor(torch.randn(c, 3, 1, 1) * 0.5, 0.01, 0, torch.qint8)
    conv.set_weight_bias(wq, torch.randn(c) * 0.1)
    conv.scale, conv.zero_point = scale, zp
    x = torch.quantize_per_tensor(torch.randn(n, 3, h, w) * 2, 0.05, 128, torch.quint8)
    y = conv(x)
    assert y.is_contiguous(memory_format=torch.channels_last)
    return y


def rand_codes(shape, lo=0, hi=255):
    return rng.integers(lo, hi + 1, size=shape).astype(np.uint8)


def run(cases, engine, cid, op, fn, inputs, params):
    torch.backends.quantized.engine = engine
    case = {'id': f'{op}/{engine}/{cid}', 'op': op, 'engine': engine, 'inputs': [tensor_ref(t) for t in inputs],
            'params': params}
    try:
        y = fn()
        case['output'] = desc(y)
    except Exception as e:  # PyTorch's own refusal, e.g. QNNPACK's add scale-ratio limit
        msg = [l for l in str(e).splitlines() if l.strip()]
        case['error'] = next((l for l in msg if 'scale ratio' in l or 'pooling' in l), msg[0])[:200]
    cases.append(case)


# ----------------------------------------------------------------------------------------------
def elementwise():
    cases = []
    scale_sets = [
        ('ties', 0.05, 0.1, 0.2),                       # "nice" scales: many exact .5 ties
        ('pow2', 2 ** -5, 3 * 2 ** -6, 2 ** -4),        # dyadic scales: exact ties in the fixed-point path
        ('random', fs(rng.uniform(0.005, 0.2)), fs(rng.uniform(0.005, 0.2)), fs(rng.uniform(0.01, 0.3))),
        ('saturate', 0.2, 0.3, 0.01),                   # most outputs clamp at 0 and 255
        ('random2', fs(rng.uniform(0.01, 0.1)), fs(rng.uniform(0.01, 0.1)), fs(rng.uniform(0.01, 0.1))),
    ]
    for engine in ENGINES:
        for name, sa, sb, so in scale_sets:
            za, zb, zo = (int(v) for v in rng.integers(0, 256, 3))
            for mf, shape in [('contiguous', (2, 3, 5, 7)), ('channels_last', (1, 6, 4, 5)),
                              ('contiguous', (1, 300))]:
                if mf == 'contiguous' and len(shape) == 4 and name in ('pow2', 'random2'):
                    shape = (1, 1, 16, 17)
                a = mk(rand_codes(shape), sa, za, mf)
                b = mk(rand_codes(shape), sb, zb, mf)
                tag = f'{name}-{mf}-{"x".join(map(str, shape))}'
                for op, f in [('add', torch.ops.quantized.add), ('addRelu', torch.ops.quantized.add_relu),
                              ('mul', torch.ops.quantized.mul), ('mulRelu', torch.ops.quantized.mul_relu)]:
                    run(cases, engine, tag, op, lambda f=f, a=a, b=b: f(a, b, so, zo), [a, b],
                        {'outScale': so, 'outZeroPoint': zo})
        # broadcasting: the generic kernel even on qnnpack (QNNPACK add needs equal shapes, §5.0)
        sa, sb, so = 0.05, 0.1, 0.2
        for bshape in [(1, 4, 1, 1), (1, 1, 1, 33), (2, 4, 3, 1)]:
            for mf in ['contiguous', 'channels_last']:
                a = mk(rand_codes((2, 4, 3, 33)), sa, 37, mf)
                b = mk(rand_codes(bshape), sb, 140)
                for op, f in [('add', torch.ops.quantized.add), ('addRelu', torch.ops.quantized.add_relu),
                              ('mul', torch.ops.quantized.mul)]:
                    run(cases, engine, f'broadcast-{"x".join(map(str, bshape))}-{mf}', op,
                        lambda f=f, a=a, b=b: f(a, b, so, 101), [a, b], {'outScale': so, 'outZeroPoint': 101})
        # a tensor that came out of a quantized conv, plus a same-shape contiguous one
        torch.backends.quantized.engine = engine
        a = conv_output((1, 8, 5, 9), 0.07, 120)
        b = mk(rand_codes((1, 8, 5, 9)), 0.03, 90)
        for op, f in [('add', torch.ops.quantized.add), ('mul', torch.ops.quantized.mul)]:
            run(cases, engine, 'conv-output-plus-contiguous', op, lambda f=f: f(a, b, 0.09, 110), [a, b],
                {'outScale': 0.09, 'outZeroPoint': 110})
        a2 = conv_output((1, 8, 5, 9), 0.07, 120)
        run(cases, engine, 'conv-output-plus-conv-output', 'add',
            lambda: torch.ops.quantized.add(a, a2, 0.11, 100), [a, a2], {'outScale': 0.11, 'outZeroPoint': 100})
        # scale-ratio limit of QNNPACK's add: [2^-14, 2^8) (an error on qnnpack, fine on onednn)
        for sa_, so_ in [(1.0, 1.0 / 300), (1e-5, 1.0), (1.0, 2 ** -8 * 1.0000001)]:
            a = mk(rand_codes((1, 2, 3, 4)), sa_, 3)
            b = mk(rand_codes((1, 2, 3, 4)), 0.01, 200)
            run(cases, engine, f'scale-ratio-{sa_ / so_:.6g}', 'add', lambda a=a, b=b, so_=so_: torch.ops.quantized.add(a, b, so_, 128),
                [a, b], {'outScale': so_, 'outZeroPoint': 128})
        # cat: quantized::cat with explicit output qparams, and torch.cat (first input's qparams)
        for mf in ['contiguous', 'channels_last']:
            for cs in [(3, 5, 2), (40, 1, 13), (33, 9, 70)]:
                xs = [mk(rand_codes((2, c, 3, 2)), s, int(z), mf)
                      for c, s, z in zip(cs, [0.05, fs(rng.uniform(0.01, 0.2)), 0.1], rng.integers(0, 256, 3))]
                so, zo = fs(rng.uniform(0.01, 0.2)), int(rng.integers(0, 256))
                tag = f'{mf}-C{"-".join(map(str, cs))}'
                run(cases, engine, tag + '-dim1', 'cat', lambda xs=xs, so=so, zo=zo: torch.ops.quantized.cat(xs, 1, so, zo),
                    xs, {'dim': 1, 'outScale': so, 'outZeroPoint': zo})
                run(cases, engine, tag + '-dim1-torch.cat', 'cat', lambda xs=xs: torch.cat(xs, 1), xs, {'dim': 1})
            xs = [mk(rand_codes((n, 3, 4, 5)), s, z, mf) for n, s, z in [(1, 0.05, 10), (2, 0.1, 200), (1, 0.05, 10)]]
            run(cases, engine, f'{mf}-dim0', 'cat', lambda xs=xs: torch.ops.quantized.cat(xs, 0, 0.07, 64), xs,
                {'dim': 0, 'outScale': 0.07, 'outZeroPoint': 64})
        # same qparams everywhere: a plain copy
        xs = [mk(rand_codes((1, c, 2, 3)), 0.1, 5) for c in (2, 3)]
        run(cases, engine, 'same-qparams', 'cat', lambda: torch.cat(xs, 1), xs, {'dim': 1})
        xs = [conv_output((1, 12, 3, 4), 0.05, 100), conv_output((1, 36, 3, 4), 0.08, 60)]
        run(cases, engine, 'conv-outputs-dim1', 'cat', lambda: torch.ops.quantized.cat(xs, 1, 0.06, 90), xs,
            {'dim': 1, 'outScale': 0.06, 'outZeroPoint': 90})
    return cases


# ----------------------------------------------------------------------------------------------
def all_codes(extra, cshape):
    """Every code 0..255 (shuffled, 4 times) plus `extra` random ones, reshaped to `cshape`."""
    codes = np.concatenate([rng.permutation(256) for _ in range(4)] + [rng.integers(0, 256, extra)])
    assert codes.size == int(np.prod(cshape))
    return codes.reshape(cshape).astype(np.uint8)


def activations():
    cases = []
    scale_sets = [(0.05, 0.1), (2 ** -5, 2 ** -6), (fs(rng.uniform(0.005, 0.1)), fs(rng.uniform(0.005, 0.1))),
                  (fs(rng.uniform(0.02, 0.2)), fs(rng.uniform(0.01, 0.05)))]
    for engine in ENGINES:
        for k, (s, so) in enumerate(scale_sets):
            zp, zo = (int(v) for v in rng.integers(0, 256, 2))
            for mf, shape in [('contiguous', (1, 4, 13, 20)), ('channels_last', (2, 4, 7, 19))]:
                extra = int(np.prod(shape)) - 1024
                x = mk(all_codes(extra, shape), s, zp, mf)
                tag = f's{k}-{mf}'
                torch.backends.quantized.engine = engine
                run(cases, engine, tag, 'relu', lambda x=x: torch.relu(x), [x], {})
                run(cases, engine, tag, 'relu6', lambda x=x: F.relu6(x), [x], {})
                lo, hi = [(-1.0, 1.0), (0.0, 6.0), (-0.3, 2.55)][k % 3]
                run(cases, engine, tag, 'hardtanh', lambda x=x, lo=lo, hi=hi: F.hardtanh(x, lo, hi), [x],
                    {'minVal': lo, 'maxVal': hi})
                run(cases, engine, tag, 'clamp', lambda x=x, lo=lo, hi=hi: torch.clamp(x, lo, hi), [x],
                    {'min': lo, 'max': hi})
                run(cases, engine, tag, 'hardswish', lambda x=x, so=so, zo=zo: torch.ops.quantized.hardswish(x, so, zo),
                    [x], {'outScale': so, 'outZeroPoint': zo})
                run(cases, engine, tag, 'hardsigmoid', lambda x=x: F.hardsigmoid(x), [x], {})
                run(cases, engine, tag, 'sigmoid', lambda x=x: torch.sigmoid(x), [x], {})
                run(cases, engine, tag, 'tanh', lambda x=x: torch.tanh(x), [x], {})
        # a conv output feeding hardswish/sigmoid: memory order decides the vector/tail split (§12.C4)
        torch.backends.quantized.engine = engine
        x = conv_output((1, 5, 7, 9), fs(rng.uniform(0.02, 0.1)), 60)
        run(cases, engine, 'conv-output', 'hardswish', lambda: torch.ops.quantized.hardswish(x, 0.04, 20), [x],
            {'outScale': 0.04, 'outZeroPoint': 20})
        run(cases, engine, 'conv-output', 'sigmoid', lambda: torch.sigmoid(x), [x], {})
        run(cases, engine, 'conv-output', 'tanh', lambda: torch.tanh(x), [x], {})
        run(cases, engine, 'conv-output', 'hardsigmoid', lambda: F.hardsigmoid(x), [x], {})
    return cases


# ----------------------------------------------------------------------------------------------
def pooling():
    cases = []
    for engine in ENGINES:
        configs = [
            # (shape, mf, k, s, p, ceil, cip, divisor)
            ((1, 3, 8, 9), 'contiguous', 3, 2, 1, False, True, None),
            ((1, 3, 8, 9), 'contiguous', 3, 2, 1, False, False, None),
            ((2, 5, 7, 7), 'contiguous', 3, 2, 1, True, True, None),
            ((2, 5, 7, 7), 'contiguous', 3, 2, 1, True, False, None),
            ((1, 4, 9, 8), 'contiguous', 2, 2, 0, False, True, None),
            ((1, 4, 9, 8), 'contiguous', 2, 2, 0, True, True, None),
            ((1, 1, 9, 10), 'contiguous', 3, 1, 1, False, False, None),   # C == 1: NHWC path
            ((1, 6, 8, 8), 'channels_last', 3, 2, 1, False, False, None),
            ((1, 6, 8, 8), 'channels_last', 3, 2, 1, False, True, None),
            ((1, 6, 7, 9), 'channels_last', 3, 2, 1, True, False, None),
            ((1, 6, 7, 9), 'channels_last', 5, 1, 2, False, True, None),
            ((1, 3, 6, 6), 'contiguous', 3, 1, 1, False, True, 5),
            ((1, 3, 6, 6), 'channels_last', 3, 1, 1, False, True, 5),
            ((1, 2, 1, 1), 'contiguous', 1, 1, 0, False, True, None),     # H = W = 1
        ]
        for shape, mf, k, s, p, ceil, cip, div in configs:
            sc, zp = [0.05, 0.1, fs(rng.uniform(0.01, 0.2))][len(cases) % 3], int(rng.integers(0, 256))
            x = mk(rand_codes(shape), sc, zp, mf)
            tag = f'{mf}-{"x".join(map(str, shape))}-k{k}s{s}p{p}{"-ceil" if ceil else ""}{"" if cip else "-nocip"}{f"-div{div}" if div else ""}'
            prm = {'kernelSize': [k, k], 'stride': [s, s], 'padding': [p, p], 'ceilMode': ceil,
                   'countIncludePad': cip, 'divisorOverride': div}
            run(cases, engine, tag, 'avgPool2d',
                lambda x=x, k=k, s=s, p=p, ceil=ceil, cip=cip, div=div: F.avg_pool2d(x, k, s, p, ceil, cip, div),
                [x], prm)
            if p <= k // 2:
                mp = {'kernelSize': [k, k], 'stride': [s, s], 'padding': [p, p], 'dilation': [1, 1], 'ceilMode': ceil}
                run(cases, engine, tag, 'maxPool2d', lambda x=x, k=k, s=s, p=p, ceil=ceil: F.max_pool2d(x, k, s, p, 1, ceil),
                    [x], mp)
        # max pool with dilation, a conv output
        torch.backends.quantized.engine = engine
        x = conv_output((1, 7, 10, 11), 0.05, 30)
        run(cases, engine, 'conv-output-k3s2p1', 'maxPool2d', lambda: F.max_pool2d(x, 3, 2, 1), [x],
            {'kernelSize': [3, 3], 'stride': [2, 2], 'padding': [1, 1], 'dilation': [1, 1], 'ceilMode': False})
        x2 = mk(rand_codes((2, 3, 11, 12)), 0.1, 77)
        run(cases, engine, 'dilation2-k3s1p2', 'maxPool2d', lambda: F.max_pool2d(x2, 3, 1, 1, 2), [x2],
            {'kernelSize': [3, 3], 'stride': [1, 1], 'padding': [1, 1], 'dilation': [2, 2], 'ceilMode': False})
        run(cases, engine, 'conv-output-k3s2p1', 'avgPool2d', lambda: F.avg_pool2d(x, 3, 2, 1, False, False), [x],
            {'kernelSize': [3, 3], 'stride': [2, 2], 'padding': [1, 1], 'ceilMode': False, 'countIncludePad': False,
             'divisorOverride': None})
        # adaptive: QNNPACK when In % Out == 0 and In != Out (qnnpack engine), generic otherwise (§5.8, §12.C7)
        for shape, mf, out in [((1, 4, 8, 8), 'contiguous', (2, 2)), ((1, 4, 8, 8), 'contiguous', (4, 1)),
                               ((1, 4, 10, 10), 'contiguous', (3, 3)), ((2, 3, 7, 9), 'contiguous', (2, 4)),
                               ((1, 6, 8, 8), 'channels_last', (2, 2)), ((1, 6, 9, 7), 'channels_last', (4, 3)),
                               ((1, 1, 9, 7), 'contiguous', (4, 3)), ((1, 4, 6, 6), 'contiguous', (6, 6)),
                               ((1, 4, 6, 6), 'contiguous', (1, 1)), ((1, 5, 6, 6), 'channels_last', (1, 1))]:
            sc, zp = fs(rng.uniform(0.01, 0.2)), int(rng.integers(0, 256))
            x = mk(rand_codes(shape), sc, zp, mf)
            run(cases, engine, f'{mf}-{"x".join(map(str, shape))}-to-{out[0]}x{out[1]}', 'adaptiveAvgPool2d',
                lambda x=x, out=out: F.adaptive_avg_pool2d(x, out), [x], {'outputSize': list(out)})
        x = conv_output((1, 6, 8, 8), 0.04, 70)
        run(cases, engine, 'conv-output-8x8-to-1x1', 'adaptiveAvgPool2d', lambda: F.adaptive_avg_pool2d(x, 1), [x],
            {'outputSize': [1, 1]})
        run(cases, engine, 'conv-output-8x8-to-3x3', 'adaptiveAvgPool2d', lambda: F.adaptive_avg_pool2d(x, 3), [x],
            {'outputSize': [3, 3]})
        # mean over (2, 3)
        for shape, keep in [((1, 4, 7, 7), True), ((2, 3, 5, 9), False), ((1, 16, 4, 4), True)]:
            sc, zp = fs(rng.uniform(0.01, 0.2)), int(rng.integers(0, 256))
            x = mk(rand_codes(shape), sc, zp)
            run(cases, engine, f'{"x".join(map(str, shape))}{"-keepdim" if keep else ""}', 'mean',
                lambda x=x, keep=keep: torch.mean(x, (2, 3), keep), [x], {'dim': [2, 3], 'keepdim': keep})
    return cases


def shape_ops():
    cases = []
    for engine in ENGINES:
        x = mk(rand_codes((2, 3, 4, 5)), 0.1, 17)
        run(cases, engine, 'flatten1', 'flatten', lambda: torch.flatten(x, 1), [x], {'startDim': 1, 'endDim': -1})
        run(cases, engine, 'reshape', 'reshape', lambda: x.reshape(6, -1), [x], {'shape': [6, -1]})
        torch.backends.quantized.engine = engine
        y = conv_output((1, 4, 3, 5), 0.05, 40)
        run(cases, engine, 'conv-output-flatten1', 'flatten', lambda: torch.flatten(y, 1), [y], {'startDim': 1, 'endDim': -1})
        run(cases, engine, 'conv-output-reshape', 'reshape', lambda: y.reshape(4, 15), [y], {'shape': [4, 15]})
    return cases


def main():
    meta = {'generator': 'tools/goldens/kernels_ops.py', 'torchPackage': TORCH_PACKAGE,
            'torchVersion': torch.__version__, 'seed': SEED, 'threads': 1}
    for name, fn in [('elementwise', elementwise), ('activations', activations), ('pooling', pooling),
                     ('shape', shape_ops)]:
        TENSORS.clear()
        cases = fn()
        path = os.path.join(OUT_DIR, f'kernels-{name}.json')
        with open(path, 'w') as f:
            json.dump({**meta, 'tensors': {k: v[1] for k, v in TENSORS.items()}, 'cases': cases}, f, separators=(',', ':'))
            f.write('\n')
        print(f'{path}: {len(cases)} cases, {sum(1 for c in cases if "error" in c)} errors, '
              f'{os.path.getsize(path)} bytes', file=sys.stderr)




# ----------------------------------------------------------------------------------------------
# ONNX models for the engine-'ort' comparison of the exact ops (packages/kernels-js/test/
# ort-exact-ops.test.ts runs them in onnxruntime-node and onnxruntime-web). QDQ form, opset 13,
# uint8 in and out: DequantizeLinear -> op -> QuantizeLinear with the same (scale, zp), which is how
# torch.onnx and ORT's quantizer write these ops.
def ort_models():
    from onnx import TensorProto, helper, save
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'packages', 'kernels-js',
                           'test', 'ort-models')
    os.makedirs(out_dir, exist_ok=True)
    scale, zp = 0.0371, 117

    def qdq_model(name, op_nodes, in_shape, out_shape, extra_inits=()):
        inits = [helper.make_tensor('s', TensorProto.FLOAT, [], [scale]),
                 helper.make_tensor('zp', TensorProto.UINT8, [], [zp]), *extra_inits]
        nodes = [helper.make_node('DequantizeLinear', ['x', 's', 'zp'], ['xf']), *op_nodes,
                 helper.make_node('QuantizeLinear', ['yf', 's', 'zp'], ['y'])]
        g = helper.make_graph(nodes, name, [helper.make_tensor_value_info('x', TensorProto.UINT8, in_shape)],
                              [helper.make_tensor_value_info('y', TensorProto.UINT8, out_shape)], inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)], producer_name='quint kernels_ops.py')
        m.ir_version = 7
        save(m, os.path.join(out_dir, f'{name}.onnx'))

    qdq_model('relu', [helper.make_node('Relu', ['xf'], ['yf'])], [2, 3, 8, 9], [2, 3, 8, 9])
    qdq_model('maxpool-k3s2p1', [helper.make_node('MaxPool', ['xf'], ['yf'], kernel_shape=[3, 3], strides=[2, 2],
                                                  pads=[1, 1, 1, 1])], [2, 3, 9, 10], [2, 3, 5, 5])
    qdq_model('maxpool-k3s1p1-d2', [helper.make_node('MaxPool', ['xf'], ['yf'], kernel_shape=[3, 3], strides=[1, 1],
                                                     pads=[1, 1, 1, 1], dilations=[2, 2])], [1, 4, 9, 9], [1, 4, 7, 7])
    qdq_model('maxpool-k2s2-ceil', [helper.make_node('MaxPool', ['xf'], ['yf'], kernel_shape=[2, 2], strides=[2, 2],
                                                     ceil_mode=1)], [1, 3, 7, 9], [1, 3, 4, 5])
    qdq_model('flatten', [helper.make_node('Flatten', ['xf'], ['yf'], axis=1)], [2, 3, 4, 5], [2, 60])
    qdq_model('reshape', [helper.make_node('Reshape', ['xf', 'shape'], ['yf'])], [2, 3, 4, 5], [6, 20],
              [helper.make_tensor('shape', TensorProto.INT64, [2], [6, -1])])
    print(f'{out_dir}: ORT models written', file=sys.stderr)


if __name__ == '__main__':
    main()
    ort_models()
