#!/usr/bin/python3
"""Probe: which float steps make PyTorch 1.13's onednn `quantized::linear_dynamic` (spec §5.10)?

Runs real PyTorch 1.13 (Debian python3-torch 1.13.1+dfsg-4, oneDNN 2.6.3, ideep 77d662b) on engine
onednn over many random cases and counts, per candidate formula, the float32 outputs whose bits differ.

What the sources say (read, not copied; `DNNL_VERBOSE=2` shows the same three primitives per call):
  1. `PackedLinearWeightsOnednn::apply_dynamic_impl` picks (x_s, x_zp) with ChooseQuantizationParams
     (reduce_range honoured; its scale is a double, not rounded to float32) and hands ideep
     `src_scales = 1.0/x_s` (double division, stored float).
  2. ideep `matmul_forward` (dynamic) quantizes x with a oneDNN f32→u8 reorder, oscale `inv` and dst
     zero point: jit_uni_reorder multiplies, adds the zero point as a float, saturates, then rounds
     (cvtps2dq, half to even): `x_q = rne(clamp(f32(f32(x·inv) + zp), 0, 255))`.
  3. ideep scales: `wsc = f32(1/w_s)` (PyTorch's prepack stores reciprocal weight scales),
     `bs = f32(inv·wsc)`, output scale `os = f32(1/bs)`; the f32 bias is reordered with oscale bs:
     `b' = f32(b·bs)`.
  4. oneDNN gemm_x8s8s32x matmul: int32 acc (src zero point folded in exactly), then the jit pp kernel:
     `v = f32(f32(acc) + b')`, `v = f32(v·os)`, relu `max(v, 0)`.

Candidates measured (quantization × output):
  quantization  A: oneDNN reorder `rne(f32(f32(x·inv) + zp))`, inv = f32(1/(double)x_s)
                B: `zp + rne(f32(x·inv))` (zero point after rounding)
                C: PyTorch `quantize_per_tensor(x, x_s, zp)`
                D: as A with the scale rounded to float32 first, `inv = f32(1/f32(x_s))`
  output        1: `f32(f32(f32(acc) + f32(b·bs))·f32(1/bs))` (steps 3–4)
                2: `f32(f32(f32(x_s·w_s)·f32(acc)) + b)` (qnnpack's form)
                3: `f32(f32(acc)·f32(1/bs)) + b` (bias added unscaled)
                4, 5: as 1 but `wsc` = `f32(1/(double)w_s)` (4), `f32(1/f32(w_s))` (5) for both qschemes

Weights: with reduce_range the activation codes are 0..127, so |x·w| pairs stay below 2^15 for any
qint8 weight (no AVX2 vpmaddubsw saturation); without it the weight codes are drawn in [-64, 64]
(see kernels_gemm.py's docstring). Weight zero points are 0 (onednn requires it).

Writes packages/backend-conformance/goldens/kernels-linear-dynamic-onednn.json: the first small case
of each kind (qscheme × reduce_range × rank × near ties × edge input: zeros, tiny range,
all negative, constant; no relu, which quint has no op for),
in the format of the linearDynamic cases of kernels-gemm.json, for the conformance suite.

Usage: /usr/bin/python3 tools/goldens/onednn_dynamic_probe.py [n_cases]
"""
import json, os, subprocess, sys
import numpy as np
import torch

SEED = 20261127
TORCH_PACKAGE = subprocess.run(['dpkg-query', '-W', '-f=${Version}', 'python3-torch'],
                               capture_output=True, text=True).stdout.strip() or 'unknown'
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'packages', 'backend-conformance',
                   'goldens', 'kernels-linear-dynamic-onednn.json')
f32 = np.float32
rng = np.random.default_rng(SEED)
torch.manual_seed(SEED)
torch.set_num_threads(1)
torch.backends.quantized.engine = 'onednn'


def hexfloats(a):
    return np.asarray(a, dtype='>f4').ravel().tobytes().hex()


def hexcodes(a):
    return np.asarray(a).astype(np.int64).astype(np.uint8).ravel().tobytes().hex()


def quantize(x, scale, zp, how):
    inv = f32(1.0 / (f32(scale) if how == 'D' else scale))
    if how in 'AD':
        return np.rint(np.clip(x * inv + f32(zp), f32(0), f32(255))).astype(np.int64)
    if how == 'B':
        return np.clip(np.rint(x * inv).astype(np.int64) + zp, 0, 255)
    t = torch.quantize_per_tensor(torch.from_numpy(x), scale, zp, torch.quint8)
    return t.int_repr().numpy().astype(np.int64)


def output(acc, x_s, w_s, per_channel, bias, how, relu):
    # PyTorch's onednn prepack: per tensor f32(1.0/(double)w_s), per channel 1.0f/f32(w_s)
    wsc = f32(1) / w_s.astype(f32) if per_channel else (1.0 / w_s).astype(f32)
    if how == '4':
        wsc = (1.0 / w_s).astype(f32)  # double reciprocal for both
    if how == '5':
        wsc = f32(1) / w_s.astype(f32)  # float reciprocal for both (static onednnScales' form)
    bs = f32(1.0 / x_s) * wsc
    b = np.zeros_like(wsc) if bias is None else bias
    if how in '145':
        v = (acc.astype(f32) + b * bs) * (f32(1) / bs)
    elif how == '2':
        v = (w_s.astype(f32) * f32(x_s)) * acc.astype(f32) + b
    else:
        v = acc.astype(f32) * (f32(1) / bs) + b
    return np.maximum(v, f32(0)) if relu else v


def near_ties(x, rr):
    """Keeps the first two elements (so the extremes, hence the qparams, are theirs and 0) and moves
    the others to within 1..4 ulps of x_s·(j + 1/2 − x_zp), where zero point before or after
    rounding gives different codes."""
    flat = x.ravel()
    flat[2:] = 0
    lo, hi = min(flat[0], flat[1], 0), max(flat[0], flat[1], 0)
    x_s, zp = torch._choose_qparams_per_tensor(torch.from_numpy(flat.copy()), rr)
    j = rng.integers(0, (127 if rr else 255) + 1, size=flat.size - 2)
    t = np.clip(((j + 0.5 - zp) * x_s).astype(f32), f32(lo), f32(hi))
    away = np.where(rng.random(t.size) < 0.5, f32(np.inf), f32(-np.inf)).astype(f32)
    for n_ulps in range(4):
        t = np.where((n_ulps == 0) | (rng.random(t.size) < 0.5), np.nextafter(t, away), t)
    flat[2:] = np.clip(t, f32(lo), f32(hi))
    return flat.reshape(x.shape)


def draw_case(i):
    """A random case: shape, weight, bias, reduce_range, relu."""
    ndim3 = i % 5 == 4
    k = int(rng.choice([1, 2, 3, 7, 16, 33, 64, 100, 255, 512, 1024]))
    n = int(rng.integers(1, 40))
    rows = int(rng.integers(1, 12))
    shape = (2, rows, k) if ndim3 else (rows, k)
    rr = bool(i % 3 != 2)
    per_channel = bool(i % 2)
    relu = i % 7 in (1, 4)
    std = float(rng.choice([0.01, 0.3, 1.0, 5.0, 100.0]))
    shift = float(rng.normal() * std) if i % 4 == 1 else 0.0
    x = (rng.standard_normal(shape) * std + shift).astype(f32)
    if i % 11 == 3:
        x = np.abs(x)  # all non-negative: zero point 0
    # ChooseQuantizationParams' special scales: 0.1 (all zeros), 6.1e-5 (tiny range); one-signed inputs
    edge = ['zeros', 'tiny range', 'all negative', 'constant'][i // 13 % 4] if i % 13 == 7 else ''
    tie = i % 6 == 5 and x.size > 2 and not edge
    if tie:
        x = near_ties(x, rr)
    if edge == 'zeros':
        x = np.zeros_like(x)
    elif edge == 'tiny range':
        x = (x * f32(1e-6) / f32(std)).astype(f32)
    elif edge == 'all negative':
        x = -np.abs(x)
    elif edge == 'constant':
        x = np.full_like(x, x.flat[0])
    lo, hi = (-128, 127) if rr else (-64, 64)
    codes = rng.integers(lo, hi + 1, size=(n, k)).astype(np.int8)
    if per_channel:
        scales = [float(v if i % 4 == 1 else f32(v)) for v in rng.uniform(0.0005, 0.05, n)]
        w = torch._make_per_channel_quantized_tensor(torch.from_numpy(codes.copy()),
                                                     torch.tensor(scales, dtype=torch.double),
                                                     torch.zeros(n, dtype=torch.long), 0)
    else:
        # scales that are not float32 now and then (q_scale() keeps the double)
        s = float(rng.uniform(0.0005, 0.05))
        scales = [s if i % 4 == 0 else float(f32(s))]
        w = torch._make_per_tensor_quantized_tensor(torch.from_numpy(codes.copy()), scales[0], 0)
    bias = (rng.standard_normal(n) * float(rng.choice([0.01, 0.5, 5.0]))).astype(f32) if i % 3 != 1 else None
    return dict(x=x, codes=codes, scales=scales, per_channel=per_channel, w=w, bias=bias, rr=rr, relu=relu,
                tie=tie, edge=edge)


def run_case(c):
    b = torch.from_numpy(c['bias']) if c['bias'] is not None else None
    packed = torch.ops.quantized.linear_prepack(c['w'], b)
    f = torch.ops.quantized.linear_relu_dynamic if c['relu'] else torch.ops.quantized.linear_dynamic
    return f(torch.from_numpy(c['x']), packed, c['rr']).numpy()


def candidates(c):
    x = c['x']
    k = x.shape[-1]
    x_s, zp = torch._choose_qparams_per_tensor(torch.from_numpy(x), c['rr'])
    n = c['codes'].shape[0]
    w_s = np.array(c['scales'] * (1 if c['per_channel'] else n), np.float64)
    out = {}
    xqs = {q: quantize(x.reshape(-1, k), x_s, zp, q) for q in 'ABCD'}
    DIFF['A≠B'] += int((xqs['A'] != xqs['B']).sum())
    DIFF['A≠C'] += int((xqs['A'] != xqs['C']).sum())
    DIFF['B≠C'] += int((xqs['B'] != xqs['C']).sum())
    for q in 'ABCD':
        xq = xqs[q]
        acc = (xq - zp) @ c['codes'].astype(np.int64).T
        assert np.abs(acc).max(initial=0) < 2 ** 24
        for o in '12345':
            out[q + o] = output(acc, x_s, w_s, c['per_channel'], c['bias'], o, c['relu']).reshape(*x.shape[:-1], n)
    return out


DIFF = {'A≠B': 0, 'A≠C': 0, 'B≠C': 0}
GOLDEN_DIFF = {'B1': 0, 'C1': 0}


def ulps(a, b):
    ia = a.astype(f32).view(np.int32).astype(np.int64)
    ib = b.astype(f32).view(np.int32).astype(np.int64)
    ia = np.where(ia < 0, -(ia & 0x7fffffff), ia)
    ib = np.where(ib < 0, -(ib & 0x7fffffff), ib)
    return np.abs(ia - ib)


def describe(c, y):
    return {'op': 'linearDynamicRelu' if c['relu'] else 'linearDynamic', 'engine': 'onednn',
            'input': {'shape': list(c['x'].shape), 'floatBits': hexfloats(c['x'])},
            'weight': ({'shape': list(c['codes'].shape), 'dtype': 'qint8', 'codes': hexcodes(c['codes']),
                        'scales': c['scales'], 'zeroPoints': [0] * len(c['scales']), 'axis': 0}
                       if c['per_channel'] else
                       {'shape': list(c['codes'].shape), 'dtype': 'qint8', 'codes': hexcodes(c['codes']),
                        'scale': c['scales'][0], 'zeroPoint': 0}),
            'bias': None if c['bias'] is None else [float(v) for v in c['bias']],
            'params': {'reduceRange': c['rr']},
            'output': {'shape': list(y.shape), 'floatBits': hexfloats(y)}}


def main():
    n_cases = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    stats = {}
    total = 0
    kept = []
    kinds = set()
    for i in range(n_cases):
        c = draw_case(i)
        y = run_case(c)
        total += y.size
        cand = candidates(c)
        for name, v in cand.items():
            same = v.view(np.int32) == y.view(np.int32)
            s = stats.setdefault(name, [0, 0, 0])
            s[0] += int((~same).sum())
            s[1] = max(s[1], int(ulps(v, y).max(initial=0)))
            s[2] += int((~same).any())
        # the golden: the first small case of each kind (quint has no dynamic linear_relu op)
        kind = (c['per_channel'], c['rr'], c['x'].ndim, c['tie'], c['edge'])
        if not c['relu'] and kind not in kinds and c['x'].size + c['codes'].size <= 1500:
            kinds.add(kind)
            GOLDEN_DIFF['B1'] += int((cand['B1'].view(np.int32) != y.view(np.int32)).sum())
            GOLDEN_DIFF['C1'] += int((cand['C1'].view(np.int32) != y.view(np.int32)).sum())
            c_desc = describe(c, y)
            c_desc['name'] = (f'{"x".join(map(str, c["x"].shape))} -> {c["codes"].shape[0]} '
                              f'{"per-channel" if c["per_channel"] else "per-tensor"} reduceRange {c["rr"]}'
                              f'{" bias" if c["bias"] is not None else ""}{" near ties" if c["tie"] else ""}{" " + c["edge"] if c["edge"] else ""} #{i}')
            kept.append(c_desc)
    print(f'{n_cases} cases, {total} outputs; activation codes differing between quantizers: {DIFF}')
    for name, (mis, mx, cases) in sorted(stats.items()):
        print(f'  {name}: {mis} mismatched outputs ({mis / total:.4%}), max {mx} ulp, {cases} cases differ')
    print(f'golden: {len(kept)} cases, {sum(int(np.prod(c["output"]["shape"])) for c in kept)} outputs; '
          f'outputs there that quantizers B and C get wrong: {GOLDEN_DIFF}')
    with open(OUT, 'w') as fh:
        json.dump({'generator': 'tools/goldens/onednn_dynamic_probe.py', 'torchPackage': TORCH_PACKAGE,
                   'torchVersion': torch.__version__, 'seed': SEED, 'threads': 1, 'cases': kept}, fh)
        fh.write('\n')


if __name__ == '__main__':
    main()
