#!/usr/bin/python3
"""Goldens for quantized `mean` of channels_last inputs (what quantized convs output) on engine onednn
(issue 4): PyTorch 1.13 takes its fallback there, dequantize -> float at::mean -> quantize_per_tensor
(spec §5.8), and the float summation order of ATen's cascade_sum decides the codes.

Runs real PyTorch 1.13 (Debian python3-torch 1.13.1+dfsg, AVX2 CPU capability) with one thread and
writes packages/backend-conformance/goldens/kernels-mean-cl.json in the format of kernels_ops.py
(tensors table, cases with inputs by id; codes as hex in logical NCHW order, `memoryFormat` = how
PyTorch held the input). Inputs stay below 32 768 elements (ATen's grain size: larger inputs are
split across threads when there are several).

Usage: /usr/bin/python3 tools/goldens/kernels_mean_cl.py
"""
import json, os, subprocess
import numpy as np
import torch

SEED = 20261127
TORCH_PACKAGE = subprocess.run(['dpkg-query', '-W', '-f=${Version}', 'python3-torch'],
                               capture_output=True, text=True).stdout.strip() or 'unknown'
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'packages', 'backend-conformance',
                   'goldens', 'kernels-mean-cl.json')
f32 = np.float32
rng = np.random.default_rng(SEED)
torch.manual_seed(SEED)
torch.set_num_threads(1)
TENSORS = {}


def hexcodes(q):
    return bytes(np.asarray(q, np.uint8).ravel().tolist()).hex()


def desc(t):
    mf = 'contiguous'
    if t.dim() == 4 and not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last):
        mf = 'channels_last'
    return {'shape': list(t.shape), 'dtype': 'quint8', 'scale': t.q_scale(), 'zeroPoint': t.q_zero_point(),
            'memoryFormat': mf, 'codes': hexcodes(t.int_repr().numpy())}


def tensor_ref(t):
    d = desc(t)
    k = f't{len(TENSORS)}'
    TENSORS[k] = d
    return k


def mk(shape, scale, zp, memory_format, lo=0, hi=255):
    codes = rng.integers(lo, hi + 1, size=shape).astype(np.uint8)
    t = torch._make_per_tensor_quantized_tensor(torch.from_numpy(codes), scale, zp)
    return t.contiguous(memory_format=memory_format)


def conv_output(shape, scale, zp):
    """A quint8 tensor out of a real quantized 1x1 conv (channels_last in memory, spec §11.3)."""
    n, c, h, w = shape
    conv = torch.ao.nn.quantized.Conv2d(3, c, 1)
    conv.set_weight_bias(torch.quantize_per_tensor(torch.randn(c, 3, 1, 1) * 0.5, 0.01, 0, torch.qint8),
                         torch.randn(c) * 0.1)
    conv.scale, conv.zero_point = scale, zp
    y = conv(torch.quantize_per_tensor(torch.randn(n, 3, h, w) * 2, 0.05, 128, torch.quint8))
    assert y.is_contiguous(memory_format=torch.channels_last)
    return y


def scale_zp(i):
    """Nice scales (many exact .5 ties after the division) alternate with random float32 ones."""
    if i % 3 == 0:
        return [0.1, 0.05, 0.25, 0.02][i % 4], int(rng.integers(0, 256))
    return float(f32(rng.uniform(0.002, 0.3))), int(rng.integers(0, 256))


def main():
    cases = []

    def run(engine, x, dims, keep, tag):
        torch.backends.quantized.engine = engine
        y = torch.mean(x, dims, keep)
        shape = 'x'.join(map(str, x.shape))
        cases.append({'id': f'mean/{engine}/{tag}-{shape}-dim{"_".join(map(str, dims))}{"-keepdim" if keep else ""}',
                      'op': 'mean', 'engine': engine, 'inputs': [tensor_ref(x)],
                      'params': {'dim': list(dims), 'keepdim': keep}, 'output': desc(y)})

    cl = torch.channels_last
    i = 0
    # Channels: not multiples of 8 / 32 (the vector and 4-vector blocks of vectorized_outer_sum);
    # H·W from 1 to 360 (cascade levels flush every 16 rows).
    shapes = [(1, 1, 5, 7), (1, 3, 4, 4), (2, 7, 3, 5), (1, 8, 16, 16), (1, 9, 6, 6), (2, 15, 5, 5),
              (1, 16, 18, 20), (1, 17, 7, 9), (1, 31, 4, 5), (1, 32, 9, 9), (2, 33, 3, 3), (1, 40, 8, 8),
              (1, 64, 10, 12), (1, 70, 1, 1), (1, 70, 6, 7), (2, 24, 1, 17), (1, 5, 20, 18), (1, 12, 2, 2)]
    dim_sets = [(2, 3), (3,), (2,), (1,), (1, 2, 3), (0,), (1, 3), (-1, -2), (0, 2, 3), (0, 1)]
    for shape in shapes:
        # C == 1 or H·W == 1 is also NCHW-contiguous: PyTorch then takes the integer path for the
        # innermost dims (the kernel gets the hint 'contiguous').
        ambiguous = shape[1] == 1 or shape[2] * shape[3] == 1
        for dims in [(2, 3), (3,) if ambiguous else dim_sets[1 + int(rng.integers(0, len(dim_sets) - 1))]]:
            sc, zp = scale_zp(i)
            run('onednn', mk(shape, sc, zp, cl), dims, bool(i % 2), 'random')
            i += 1
    # Reductions with many outputs (over C, H or W) at more scales.
    for shape, dims in [((2, 20, 9, 10), (1,)), ((1, 48, 12, 5), (3,)), ((1, 35, 11, 6), (2,)), ((2, 8, 7, 13), (1,)),
                        ((1, 66, 5, 5), (3,)), ((1, 72, 4, 6), (1, 3))]:
        sc, zp = scale_zp(i)
        run('onednn', mk(shape, sc, zp, cl), dims, bool(i % 2), 'random')
        i += 1
    # Narrow code ranges (sums far from ties) and a saturating zero point.
    run('onednn', mk((1, 20, 12, 12), 0.01, 250, cl, 200, 255), (2, 3), True, 'narrow')
    run('onednn', mk((2, 11, 9, 14), 0.003, 0, cl, 0, 40), (2, 3), False, 'narrow')
    # Real conv outputs.
    for shape, dims in [((1, 24, 14, 14), (2, 3)), ((2, 10, 8, 8), (2, 3)), ((1, 36, 10, 10), (3,)),
                        ((1, 18, 12, 12), (1,))]:
        run('onednn', conv_output(shape, float(f32(rng.uniform(0.01, 0.1))), int(rng.integers(40, 200))),
            dims, True, 'conv')
    # The same float path elsewhere: qnnpack with channels_last and dims other than literally [2, 3]
    # (−2, −1 included), and contiguous inputs over dims that are not the innermost, on both engines.
    nchw = torch.contiguous_format
    for engine, shape, dims, mf in [('qnnpack', (1, 20, 9, 10), (-2, -1), cl), ('qnnpack', (2, 33, 6, 7), (3,), cl),
                                    ('qnnpack', (1, 17, 8, 8), (1,), cl), ('qnnpack', (1, 40, 6, 5), (2,), nchw),
                                    ('onednn', (2, 12, 7, 9), (1,), nchw), ('onednn', (1, 9, 20, 18), (2,), nchw),
                                    ('qnnpack', (3, 10, 11), (0,), nchw), ('onednn', (4, 6, 35), (0, 1), nchw)]:
        sc, zp = scale_zp(i)
        run(engine, mk(shape, sc, zp, mf), dims, bool(i % 2), 'random')
        i += 1
    with open(OUT, 'w') as f:
        json.dump({'generator': 'tools/goldens/kernels_mean_cl.py', 'torchPackage': TORCH_PACKAGE,
                   'torchVersion': torch.__version__, 'seed': SEED, 'threads': 1, 'tensors': TENSORS,
                   'cases': cases}, f, separators=(',', ':'))
    print(f'{OUT}: {len(cases)} cases, {sum(len(c["output"]["codes"]) // 2 for c in cases)} output codes')


if __name__ == '__main__':
    main()
