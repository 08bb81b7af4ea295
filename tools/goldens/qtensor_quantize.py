#!/usr/bin/python3
"""Golden vectors for @quint/qtensor from real PyTorch 1.13 (Debian python3-torch 1.13.1+dfsg-4).

Run from the repository root:  /usr/bin/python3 tools/goldens/qtensor_quantize.py
Writes packages/qtensor/test/goldens/{quantize,qparams}.json.

Arrays are base64 of little-endian bytes with their numpy dtype ("<f4", "<f8", "<i4", "<u1", "<i1"),
so float32/float64 values (NaN and infinities included) are stored bit for bit. Python floats that
are always finite (scales passed in) are stored as JSON numbers, whose shortest repr round-trips.
"""
import base64, json, os, subprocess, warnings
import numpy as np
import torch
from torch.ao.quantization import observer as O

warnings.filterwarnings("ignore")
SEED = 20240617
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "packages", "qtensor", "test", "goldens")
TORCH_PACKAGE = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-torch"],
                               capture_output=True, text=True).stdout.strip() or "unknown"
torch.manual_seed(SEED)
rng = np.random.default_rng(SEED)
f32 = np.float32
TDT = {"quint8": torch.quint8, "qint8": torch.qint8, "qint32": torch.qint32}
RANGE = {"quint8": (0, 255), "qint8": (-128, 127), "qint32": (-2**31, 2**31 - 1)}
STORAGE = {"quint8": np.uint8, "qint8": np.int8, "qint32": np.int32}


def arr(a, dt):
    a = np.ascontiguousarray(np.asarray(a).astype(dt))
    return {"dtype": np.dtype(dt).str, "b64": base64.b64encode(a.tobytes()).decode()}


def codes_of(q, dtype):
    return arr(q.int_repr().numpy(), STORAGE[dtype])


def meta():
    return {"torch_package": TORCH_PACKAGE, "torch_version": torch.__version__, "seed": SEED,
            "engine": torch.backends.quantized.engine, "generator": "tools/goldens/qtensor_quantize.py"}


# ---------------------------------------------------------------- quantize / dequantize
per_tensor = []


def add_pt(name, x, scale, zp, dtype):
    x = np.asarray(x, dtype=f32)
    q = torch.quantize_per_tensor(torch.from_numpy(x.copy()), scale, zp, TDT[dtype])
    d = q.dequantize().numpy()
    per_tensor.append({"name": name, "dtype": dtype, "scale": float(scale), "zeroPoint": int(zp),
                       "shape": list(x.shape), "x": arr(x, "<f4"), "codes": codes_of(q, dtype),
                       "dequant": arr(d, "<f4")})


for dtype in ("quint8", "qint8", "qint32"):
    lo, hi = RANGE[dtype]
    for t in range(8):
        scale = float(np.exp(rng.uniform(-8, 1)))
        zp = int(rng.integers(lo, hi + 1)) if dtype != "qint32" else int(rng.integers(-1000, 1000))
        n = 200
        x = (rng.standard_normal(n) * scale * (60 if dtype != "qint32" else 1e4)).astype(f32)
        add_pt(f"random {dtype} #{t}", x.reshape(2, 4, 25), scale, zp, dtype)
    # exact ties: power-of-two scales make x*inv exact, so x = (k + 0.5)*scale is a true tie
    for scale in (0.25, 2.0 ** -7, 4.0):
        for zp in ((0, 1, 2, 3, 127) if dtype == "quint8" else (0, 1, -1, 2, -3)):
            k = np.arange(-140, 140)
            x = ((k + 0.5) * scale).astype(f32)
            add_pt(f"ties {dtype} scale={scale} zp={zp}", x, scale, zp, dtype)
    # near-ties with a non-power-of-two scale (x*inv rounds onto .5 or just beside it)
    for zp in (0, 1, 5):
        s = f32(0.1)
        k = np.arange(-130, 130)
        x = ((k + 0.5) * np.float64(s)).astype(f32)
        add_pt(f"near-ties {dtype} scale=0.1 zp={zp}", x, 0.1, zp, dtype)
    # extreme scales, including subnormal float32 scales whose reciprocal overflows to +inf
    special = np.array([0, -0.0, 1, -1, 1e-12, -1e-12, 1e-30, 3e-39, 1e10, -1e10, 3e38, -3e38], dtype=f32)
    for scale in (1e-10, 1e10, 1e-38, 1e-39, 1e-44, 3e38, 1e-5, 12345.678):
        for zp in ((0, 128, 255) if dtype == "quint8" else (0, -128, 127) if dtype == "qint8" else (0, -1000, 2**31 - 1)):
            x = np.concatenate([special, (rng.standard_normal(20) * scale * 50).astype(f32)])
            add_pt(f"extreme {dtype} scale={scale} zp={zp}", x, scale, zp, dtype)
    # NaN, +-Inf and huge values
    nonfinite = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 3.4e38, -3.4e38, 9.3e18, -9.3e18,
                          9.2e18, 1e19, 2.0 ** 63, -(2.0 ** 63), 2.0 ** 62, 5.0, -5.0], dtype=f32)
    for scale, zp in ((1.0, 0), (0.01, hi), (0.5, lo), (1e-3, (lo + hi) // 2)):
        add_pt(f"nonfinite {dtype} scale={scale} zp={zp}", nonfinite, scale, zp, dtype)

# qint32 beyond 2^24: the zero point is added in float32 (int64 + float is float in C++)
big = np.array([2.0 ** 24, 2.0 ** 24 + 2, 2.0 ** 25 + 4, 16777217.0, 2.0 ** 30, 2.0 ** 31 - 128, 2.0 ** 31,
                2.0 ** 32, -(2.0 ** 31), -(2.0 ** 31) - 256, -(2.0 ** 24) - 2, 123456789.0, -987654321.0,
                3.0, -3.0, 0.0], dtype=f32)
for zp in (0, 1, 12345, -7, 2**30 + 1, -(2**30) - 3, 2**31 - 1, -(2**31), 16777217):
    for scale in (1.0, 0.5, 3.0):
        add_pt(f"qint32 large zp={zp} scale={scale}", big, scale, zp, "qint32")

# worked example of spec §1.2
add_pt("worked example", [-1.0, 0.0, 0.05, 0.15, 0.25, 0.35, 1.0, 24.6], 0.1, 10, "quint8")

# per-channel quantize + dequantize with arbitrary double scales
per_channel = []


def add_pc(name, x, scales, zps, axis, dtype):
    x = np.asarray(x, dtype=f32)
    s = torch.tensor(scales, dtype=torch.float64)
    z = torch.tensor(zps, dtype=torch.int64)
    q = torch.quantize_per_channel(torch.from_numpy(x.copy()), s, z, axis, TDT[dtype])
    d = q.dequantize().numpy()
    per_channel.append({"name": name, "dtype": dtype, "axis": axis, "shape": list(x.shape),
                        "scales": arr(np.asarray(scales, dtype=np.float64), "<f8"),
                        "zeroPoints": arr(np.asarray(zps), "<i4"),
                        "x": arr(x, "<f4"), "codes": codes_of(q, dtype), "dequant": arr(d, "<f4")})


for dtype in ("quint8", "qint8", "qint32"):
    lo, hi = RANGE[dtype]
    for shape, axis in (((4, 3, 5), 0), ((2, 4, 3), 1), ((2, 3, 2, 4), 3), ((3, 6), 1)):
        for t in range(3):
            C = shape[axis]
            scales = np.exp(rng.uniform(-7, 1, size=C))  # doubles, not float32-representable
            zps = rng.integers(lo, hi + 1, size=C) if dtype != "qint32" else rng.integers(-5000, 5000, size=C)
            mult = 60 if dtype != "qint32" else 3e6
            x = rng.standard_normal(shape) * mult
            x = x * np.exp(rng.uniform(-7, 1))
            x = x.astype(f32)
            if t == 2:
                flat = x.reshape(-1)
                flat[:6] = [np.nan, np.inf, -np.inf, 1e30, -1e30, 0.0]
            add_pc(f"per-channel {dtype} shape={shape} axis={axis} #{t}", x, scales.tolist(), zps.tolist(), axis, dtype)
    # exact ties per channel
    add_pc(f"per-channel ties {dtype}", (np.arange(-20, 20) + 0.5).reshape(2, 20).astype(f32) * f32(0.25),
           [0.25, 0.25], [0, 1] if dtype != "quint8" else [2, 3], 0, dtype)

# dequantize of arbitrary codes (full range, including qint32 codes whose q - zp overflows int32)
dequant_pt = []
for dtype in ("quint8", "qint8", "qint32"):
    lo, hi = RANGE[dtype]
    for t in range(8):
        scale = float(np.exp(rng.uniform(-10, 3))) if t < 6 else (0.1 if t == 6 else 1e-10)
        zp = int(rng.integers(lo, hi + 1))
        if dtype == "qint32":
            codes = np.concatenate([rng.integers(lo, hi + 1, size=200), [lo, hi, 0, -1, 1, zp, zp + 1]]).astype(np.int32)
        else:
            codes = np.arange(lo, hi + 1).astype(STORAGE[dtype])
        q = torch._make_per_tensor_quantized_tensor(torch.from_numpy(codes.copy()), scale, zp)
        dequant_pt.append({"name": f"dequant {dtype} #{t}", "dtype": dtype, "scale": scale, "zeroPoint": zp,
                           "codes": arr(codes, STORAGE[dtype]), "dequant": arr(q.dequantize().numpy(), "<f4")})

dequant_pc = []
for dtype in ("quint8", "qint8", "qint32"):
    lo, hi = RANGE[dtype]
    for shape, axis in (((5, 64), 0), ((2, 5, 8), 1), ((2, 2, 3, 5), 3)):
        C = shape[axis]
        scales = np.exp(rng.uniform(-10, 3, size=C))
        zps = rng.integers(lo, hi + 1, size=C) if dtype != "qint32" else rng.integers(-2**31, 2**31, size=C)
        codes = rng.integers(lo, hi + 1, size=shape).astype(STORAGE[dtype])
        q = torch._make_per_channel_quantized_tensor(torch.from_numpy(codes.copy()), torch.tensor(scales, dtype=torch.float64),
                                                     torch.tensor(zps, dtype=torch.int64), axis)
        dequant_pc.append({"name": f"dequant per-channel {dtype} shape={shape} axis={axis}", "dtype": dtype, "axis": axis,
                           "shape": list(shape), "scales": arr(scales, "<f8"), "zeroPoints": arr(zps, "<i4"),
                           "codes": arr(codes, STORAGE[dtype]), "dequant": arr(q.dequantize().numpy(), "<f4")})

# ---------------------------------------------------------------- calculate_qparams
qparams = []
rejected = []
QS = {"per_tensor_affine": torch.per_tensor_affine, "per_tensor_symmetric": torch.per_tensor_symmetric,
      "per_channel_affine": torch.per_channel_affine, "per_channel_symmetric": torch.per_channel_symmetric,
      "per_channel_affine_float_qparams": torch.per_channel_affine_float_qparams}


def make_obs(dtype, qscheme, reduce_range, qrange, eps):
    kw = dict(dtype=TDT[dtype], qscheme=QS[qscheme], reduce_range=reduce_range)
    if qrange is not None:
        kw["quant_min"], kw["quant_max"] = qrange
    if eps is not None:
        kw["eps"] = eps
    cls = O.MinMaxObserver if qscheme.startswith("per_tensor") else O.PerChannelMinMaxObserver
    return cls(**kw)


def qp_one(dtype, qscheme, reduce_range, qrange, eps, mins, maxs):
    obs = make_obs(dtype, qscheme, reduce_range, qrange, eps)
    if qscheme.startswith("per_tensor"):
        obs.min_val = torch.tensor(float(mins[0]))
        obs.max_val = torch.tensor(float(maxs[0]))
    else:
        obs.min_val = torch.from_numpy(mins.copy())
        obs.max_val = torch.from_numpy(maxs.copy())
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        s, z = obs.calculate_qparams()
        warned = any("must run observer" in str(x.message) for x in w)
    return obs, s, z, warned


def add_qp(name, dtype, qscheme, reduce_range, qrange, eps, mins, maxs):
    """One case: a per-channel observer gets all the channels at once; a per-tensor observer
    is run once per (min, max) pair, and the results are stacked."""
    mins = np.asarray(mins, dtype=f32)
    maxs = np.asarray(maxs, dtype=f32)
    float_zp = qscheme == "per_channel_affine_float_qparams"
    if qscheme.startswith("per_tensor"):
        outs = [qp_one(dtype, qscheme, reduce_range, qrange, eps, mins[i:i + 1], maxs[i:i + 1]) for i in range(len(mins))]
        obs = outs[0][0]
        s = np.concatenate([o[1].numpy() for o in outs])
        z = np.concatenate([o[2].numpy() for o in outs])
        warned = [o[3] for o in outs]
        zdt = str(outs[0][2].dtype)
    else:
        obs, s_, z_, w_ = qp_one(dtype, qscheme, reduce_range, qrange, eps, mins, maxs)
        s, z, warned, zdt = s_.numpy(), z_.numpy(), [w_], str(z_.dtype)
    qparams.append({"name": name, "dtype": dtype, "qscheme": qscheme, "reduceRange": reduce_range,
                    "customRange": list(qrange) if qrange is not None else None,
                    "eps": eps, "quantMin": obs.quant_min, "quantMax": obs.quant_max,
                    "hasCustomizedQrange": bool(obs.has_customized_qrange),
                    "min": arr(mins, "<f4"), "max": arr(maxs, "<f4"),
                    "scales": arr(s, "<f4"),
                    "zeroPoints": arr(z, "<f4" if float_zp else "<i4"),
                    "zeroPointTorchDtype": zdt, "warned": warned})


def rand_minmax(n, spread):
    a = rng.standard_normal(n) * spread
    b = rng.standard_normal(n) * spread
    lo = np.minimum(a, b); hi = np.maximum(a, b)
    # some one-sided ranges (all positive / all negative)
    lo[::5] = np.abs(lo[::5]); hi[::5] = lo[::5] + np.abs(hi[::5])
    hi[1::5] = -np.abs(hi[1::5]); lo[1::5] = hi[1::5] - np.abs(lo[1::5])
    return lo.astype(f32), hi.astype(f32)


configs = []
for dtype in ("quint8", "qint8"):
    for qs in ("per_tensor_affine", "per_tensor_symmetric"):
        for rr in (False, True):
            if qs == "per_tensor_symmetric" and rr and dtype == "quint8":
                continue
            configs.append((dtype, qs, rr, None, None))
configs += [
    ("quint8", "per_tensor_affine", False, (0, 15), None),
    ("quint8", "per_tensor_affine", True, (0, 15), None),
    ("quint8", "per_tensor_symmetric", False, (0, 15), None),
    ("quint8", "per_tensor_symmetric", False, (0, 255), None),
    ("quint8", "per_tensor_affine", False, (-3, 4), None),
    ("qint8", "per_tensor_affine", False, (-8, 7), None),
    ("qint8", "per_tensor_affine", True, (-7, 9), None),
    ("qint8", "per_tensor_symmetric", False, (-127, 127), 2.0 ** -12),
    ("qint8", "per_tensor_affine", False, (-128, 127), 1e-3),
    ("quint8", "per_tensor_affine", False, None, 2.0 ** -12),
    ("qint32", "per_tensor_affine", False, None, None),
    ("qint32", "per_tensor_symmetric", False, None, None),
    ("qint32", "per_tensor_affine", False, (-1000, 1000), None),
]
for (dtype, qs, rr, qrange, eps) in configs:
    tag = f"{dtype} {qs} rr={rr} range={qrange} eps={eps}"
    los, his = [], []
    for spread in (1.0, 1e-3, 1e4, 1e-7):
        lo, hi = rand_minmax(15, spread)
        los.append(lo); his.append(hi)
    add_qp(f"{tag} random", dtype, qs, rr, qrange, eps, np.concatenate(los), np.concatenate(his))
    special = (("all-zero", 0.0, 0.0), ("min==max", 2.0, 2.0), ("min==max<0", -3.0, -3.0),
               ("never observed", np.inf, -np.inf), ("zp tie a", -0.625, 0.375), ("zp tie b", -0.375, 0.625),
               ("[-1,3]", -1.0, 3.0), ("[-1,1]", -1.0, 1.0), ("tiny", -1e-9, 2e-9), ("huge", -3e38, 3e38))
    add_qp(f"{tag} special: " + ", ".join(x[0] for x in special), dtype, qs, rr, qrange, eps,
           [x[1] for x in special], [x[2] for x in special])

for dtype in ("quint8", "qint8"):
    for qs in ("per_channel_affine", "per_channel_symmetric", "per_channel_affine_float_qparams"):
        for rr in (False, True):
            if rr and (qs != "per_channel_affine" or dtype != "quint8"):
                continue
            lo, hi = rand_minmax(24, 2.0)
            lo[3] = hi[3] = 0.0
            lo[4] = hi[4] = 1.5
            add_qp(f"{dtype} {qs} rr={rr} 24 channels", dtype, qs, rr, None, None, lo, hi)
add_qp("qint8 per_channel_symmetric custom (-127,127) eps 2^-12", "qint8", "per_channel_symmetric", False, (-127, 127),
       2.0 ** -12, *rand_minmax(16, 0.05))
add_qp("quint8 per_channel_affine empty (never observed)", "quint8", "per_channel_affine", False, None, None, [], [])

for dtype, qrange, rr in (("qint8", (-200, 100), False), ("qint8", (1, 100), False), ("quint8", (-5, -1), False),
                          ("qint8", (0, 0), False), ("qint8", (3, 2), False), ("qint32", (-2**31, 2**31 - 1), False),
                          ("quint8", (-5, 300), False), ("qint8", (-128, 127), True), ("quint8", (0, 255), True)):
    try:
        o = O.MinMaxObserver(dtype=TDT[dtype], quant_min=qrange[0], quant_max=qrange[1], reduce_range=rr)
        rejected.append({"dtype": dtype, "customRange": list(qrange), "reduceRange": rr, "rejected": False,
                         "quantMin": o.quant_min, "quantMax": o.quant_max})
    except (AssertionError, RuntimeError, NotImplementedError) as e:
        rejected.append({"dtype": dtype, "customRange": list(qrange), "reduceRange": rr, "rejected": True,
                         "error": str(e).split("\n")[0]})

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "quantize.json"), "w") as f:
    json.dump({"meta": meta(), "perTensor": per_tensor, "perChannel": per_channel,
               "dequantPerTensor": dequant_pt, "dequantPerChannel": dequant_pc}, f, separators=(",", ":"))
with open(os.path.join(OUT, "qparams.json"), "w") as f:
    json.dump({"meta": meta(), "cases": qparams, "ranges": rejected}, f, separators=(",", ":"))
print("perTensor", len(per_tensor), "perChannel", len(per_channel), "dequantPT", len(dequant_pt),
      "dequantPC", len(dequant_pc), "qparams", len(qparams), "ranges", len(rejected))
