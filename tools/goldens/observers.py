#!/usr/bin/python3
"""Golden vectors for @quint/observers from real PyTorch 1.13 (Debian python3-torch 1.13.1+dfsg-4).

Run from the repository root:  /usr/bin/python3 tools/goldens/observers.py
Writes packages/observers/test/goldens/{observers,histogram,qconfig-mappings}.json.
Float32 arrays are stored as base64 of little-endian float32 bytes (exact); scalars also as bits.
"""
import base64, json, os, subprocess, warnings
import numpy as np
import torch
from torch.ao.quantization import observer as O
from torch.ao.quantization import qconfig as QC
from torch.ao.quantization.qconfig_mapping import get_default_qconfig_mapping

warnings.filterwarnings("ignore")
SEED = 20240613
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "packages", "observers", "test", "goldens")
TORCH_PACKAGE = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-torch"],
                               capture_output=True, text=True).stdout.strip() or "unknown"
torch.manual_seed(SEED)
rng = np.random.default_rng(SEED)
f32 = np.float32


def b64(a):
    a = np.ascontiguousarray(np.asarray(a, dtype="<f4"))
    return base64.b64encode(a.tobytes()).decode()


def b64i(a):
    a = np.ascontiguousarray(np.asarray(a, dtype="<i4"))
    return base64.b64encode(a.tobytes()).decode()


def tensor_rec(t):
    t = t.detach()
    if t.dtype in (torch.int32, torch.int64):
        return {"shape": list(t.shape), "int32": b64i(t.numpy().astype(np.int32))}
    return {"shape": list(t.shape), "f32": b64(t.numpy().astype(np.float32))}


def dtype_name(d):
    return str(d).replace("torch.", "")


def py_to_json(v):
    if isinstance(v, torch.dtype):
        return dtype_name(v)
    if isinstance(v, torch.qscheme):
        return str(v).replace("torch.", "")
    if isinstance(v, float):
        return {"float": repr(v)}
    return v


def run_case(name, cls, kwargs, batches, extra=None):
    obs = cls(**kwargs)
    for x in batches:
        obs(torch.from_numpy(np.asarray(x, dtype=f32)))
    s, z = obs.calculate_qparams()
    rec = {
        "name": name,
        "observer": cls.__name__,
        "kwargs": {k: py_to_json(v) for k, v in kwargs.items()},
        "quantMin": int(obs.quant_min), "quantMax": int(obs.quant_max),
        "batches": [{"shape": list(np.shape(x)), "f32": b64(np.asarray(x, dtype=f32).ravel())} for x in batches],
        "stateDict": {k: tensor_rec(v) for k, v in obs.state_dict().items()},
        "scale": tensor_rec(s.to(torch.float32)),
        "repr": repr(obs),
    }
    if z.dtype.is_floating_point:
        rec["zeroPointFloat"] = tensor_rec(z.to(torch.float32))
    else:
        rec["zeroPoint"] = tensor_rec(z.to(torch.int32))
    if extra:
        rec.update(extra)
    return rec


def randn(shape, scale=1.0, shift=0.0):
    return (rng.standard_normal(shape) * scale + shift).astype(f32)


def uniform(shape, lo, hi):
    return rng.uniform(lo, hi, shape).astype(f32)


# ---------------------------------------------------------------- min/max family
mm = []
seq3 = [uniform([4, 8], -1, 3), uniform([4, 8], -0.5, 5), uniform([2, 3, 5], -7, 2)]
MM = O.MinMaxObserver
for nm, kw in [
    ("affine_quint8", {}),
    ("affine_quint8_reduce", {"reduce_range": True}),
    ("symmetric_qint8", {"dtype": torch.qint8, "qscheme": torch.per_tensor_symmetric}),
    ("symmetric_qint8_reduce", {"dtype": torch.qint8, "qscheme": torch.per_tensor_symmetric, "reduce_range": True}),
    ("affine_qint8", {"dtype": torch.qint8}),
    ("affine_qint8_reduce", {"dtype": torch.qint8, "reduce_range": True}),
    ("symmetric_quint8", {"qscheme": torch.per_tensor_symmetric}),
    ("custom_0_127", {"quant_min": 0, "quant_max": 127}),
    ("custom_neg127_127_eps", {"dtype": torch.qint8, "qscheme": torch.per_tensor_symmetric,
                               "quant_min": -127, "quant_max": 127, "eps": 2 ** -12}),
    ("custom_quint8_symmetric_0_15", {"qscheme": torch.per_tensor_symmetric, "quant_min": 0, "quant_max": 15}),
    ("custom_reduce_0_255", {"quant_min": 0, "quant_max": 255, "reduce_range": True}),
    ("custom_qint8_affine_neg100_27", {"dtype": torch.qint8, "quant_min": -100, "quant_max": 27}),
    ("qint32_affine", {"dtype": torch.qint32}),
]:
    mm.append(run_case("minmax_" + nm, MM, kw, seq3))
specials = {
    "constant_2": [np.full([3, 3], 2.0, f32)],
    "constant_neg3_then_same": [np.full([5], -3.0, f32), np.full([2, 2], -3.0, f32)],
    "all_zero": [np.zeros([8], f32)],
    "tiny_1e-8": [uniform([16], -1e-8, 1e-8), uniform([16], 0, 2e-8)],
    "huge_1e6": [uniform([16], -1e6, 3e5), uniform([16], -2e5, 1.5e6)],
    "negative_only": [uniform([10], -5, -0.25), uniform([10], -2, -1)],
    "positive_only": [uniform([10], 0.5, 6), uniform([10], 0.01, 0.02)],
    "with_empty_batch": [uniform([6], -1, 1), np.zeros([0, 3], f32), uniform([6], -2, 0.5)],
    "zp_tie": [np.array([-0.625, 0.375], f32)],
}
for nm, batches in specials.items():
    mm.append(run_case("minmax_" + nm, MM, {}, batches))
    mm.append(run_case("minmax_sym_" + nm, MM, {"dtype": torch.qint8, "qscheme": torch.per_tensor_symmetric}, batches))
mm.append(run_case("minmax_zp_tie_0_4", MM, {"quant_min": 0, "quant_max": 4}, [np.array([-0.625, 0.375], f32)]))
mm.append(run_case("minmax_zp_tie_0_4_b", MM, {"quant_min": 0, "quant_max": 4}, [np.array([-0.375, 0.625], f32)]))
mm.append(run_case("minmax_no_data", MM, {}, []))

MA = O.MovingAverageMinMaxObserver
seq5 = [uniform([20], -1, 1), uniform([20], -2, 3), uniform([7, 3], -0.1, 0.4), uniform([20], -9, 1), uniform([4], 2, 3)]
for nm, kw in [
    ("default", {}),
    ("c0.5", {"averaging_constant": 0.5}),
    ("c0.37_sym_qint8", {"averaging_constant": 0.37, "dtype": torch.qint8, "qscheme": torch.per_tensor_symmetric}),
    ("reduce", {"reduce_range": True}),
    ("c1_memoryless", {"averaging_constant": 1.0}),
]:
    mm.append(run_case("movavg_" + nm, MA, kw, seq5))
mm.append(run_case("movavg_spec_example", MA, {}, [np.array([-1, 1], f32), np.array([-2, 3], f32)]))

PC = O.PerChannelMinMaxObserver
MPC = O.MovingAveragePerChannelMinMaxObserver
w4 = [randn([3, 4, 2, 2], 0.5), randn([3, 4, 2, 2], 1.5, 0.2), randn([3, 4, 2, 2], 0.1)]
w4[0][1] = 0.0           # an all-zero channel (axis 0) in the first batch
w2 = [randn([5, 6], 2.0), randn([5, 6], 0.3)]
w2const = [np.tile(np.array([[1.5], [-2.0], [0.0]], f32), (1, 4))]
for nm, cls, kw, batches in [
    ("pc_affine_axis0", PC, {}, w4),
    ("pc_affine_axis1", PC, {"ch_axis": 1}, w4),
    ("pc_sym_qint8_axis0", PC, {"dtype": torch.qint8, "qscheme": torch.per_channel_symmetric}, w4),
    ("pc_sym_qint8_axis1", PC, {"dtype": torch.qint8, "qscheme": torch.per_channel_symmetric, "ch_axis": 1}, w4),
    ("pc_sym_qint8_axis_neg1", PC, {"dtype": torch.qint8, "qscheme": torch.per_channel_symmetric, "ch_axis": -1}, w4),
    ("pc_affine_reduce_axis0", PC, {"reduce_range": True}, w4),
    ("pc_sym_neg127_axis0", PC, {"dtype": torch.qint8, "qscheme": torch.per_channel_symmetric,
                                 "quant_min": -127, "quant_max": 127, "eps": 2 ** -12}, w2),
    ("pc_affine_2d_axis1", PC, {"ch_axis": 1}, w2),
    ("pc_const_rows", PC, {}, w2const),
    ("pc_sym_const_rows", PC, {"dtype": torch.qint8, "qscheme": torch.per_channel_symmetric}, w2const),
    ("pc_float_qparams", PC, {"qscheme": torch.per_channel_affine_float_qparams}, w2 + w2const[:0]),
    ("pc_no_data", PC, {}, []),
    ("mapc_affine_axis0", MPC, {}, w4),
    ("mapc_sym_axis1_c0.25", MPC, {"dtype": torch.qint8, "qscheme": torch.per_channel_symmetric,
                                   "ch_axis": 1, "averaging_constant": 0.25}, w4),
]:
    mm.append(run_case(nm, cls, kw, batches))

# FixedQParams presets
for nm, ctor in [("fixed_0to1", O.default_fixed_qparams_range_0to1_observer),
                 ("fixed_neg1to1", O.default_fixed_qparams_range_neg1to1_observer)]:
    obs = ctor()
    obs(torch.randn(4))
    s, z = obs.calculate_qparams()
    mm.append({"name": nm, "observer": "FixedQParamsObserver",
               "kwargs": {k: py_to_json(v) for k, v in ctor.p.keywords.items()},
               "quantMin": obs.quant_min, "quantMax": obs.quant_max, "batches": [],
               "stateDict": {k: tensor_rec(v) for k, v in obs.state_dict().items()},
               "scale": tensor_rec(s), "zeroPoint": tensor_rec(z.to(torch.int32)), "repr": repr(obs)})

# ---------------------------------------------------------------- histogram (1.13 algorithm)
H = O.HistogramObserver
hist = []
def wide(n, s, m=0.0):
    return randn([n], s, m)
for nm, kw, batches in [
    ("single_inside_pm1", {}, [np.clip(randn([600], 0.3), -0.99, 0.99)]),
    ("spec_worked_example", {}, [np.array([0, .1, .2, .5, .9], f32)]),
    ("spec_worked_example_reduce", {"reduce_range": True}, [np.array([0, .1, .2, .5, .9], f32)]),
    ("multi_inside_pm1", {}, [np.clip(randn([300], 0.2), -0.9, 0.9), np.clip(randn([300], 0.4), -0.95, 0.95),
                              np.clip(randn([200], 0.1), -0.5, 0.5)]),
    ("multi_wide_truncation", {}, [wide(400, 2.0), wide(400, 3.5, 0.5), wide(300, 1.0)]),
    ("wide_single_batch", {}, [uniform([1001], -3.7, 5.2)]),
    ("multi_wide_reduce", {"reduce_range": True}, [wide(400, 2.5), wide(300, 4.0, -1.0), wide(300, 0.5)]),
    ("custom_0_127", {"quant_min": 0, "quant_max": 127}, [wide(400, 1.5), wide(400, 0.7, 0.3)]),
    ("symmetric_qint8", {"dtype": torch.qint8, "qscheme": torch.per_tensor_symmetric},
     [wide(400, 1.2), wide(400, 2.2, 0.1)]),
    ("qint8_eps_2m12", {"dtype": torch.qint8, "reduce_range": False, "eps": 2 ** -12},
     [wide(300, 0.8), wide(300, 1.9)]),
    ("relu_like", {}, [np.maximum(wide(500, 2.0), 0), np.maximum(wide(500, 3.0), 0), np.maximum(wide(200, 1.0), 0)]),
    ("negative_only", {}, [-np.abs(wide(300, 1.7)), -np.abs(wide(300, 0.4)) - 0.5]),
    ("constant_then_data", {}, [np.full([50], 0.75, f32), wide(300, 1.3)]),
    ("growing_range", {}, [wide(200, 0.05), wide(200, 0.5), wide(200, 5.0), wide(200, 50.0)]),
    ("laplace_large", {}, [(rng.laplace(size=3000) * 0.8).astype(f32), (rng.laplace(size=2000) * 1.6).astype(f32)]),
    ("bins_512_up_16", {"bins": 512, "upsample_rate": 16}, [wide(400, 1.1), wide(400, 2.7)]),
    ("with_empty_batch", {}, [wide(100, 0.5), np.zeros([0], f32), wide(100, 0.9)]),
    ("no_data", {}, []),
]:
    hist.append(run_case("hist_" + nm, H, kw, batches))


# ---------------------------------------------------------------- preset qconfigs and mappings
def ctor_rec(c):
    if c is None:
        return None
    if isinstance(c, O._PartialWrapper):
        return {"class": c.p.func.__name__, "args": {k: py_to_json(v) for k, v in sorted(c.p.keywords.items())}}
    return {"class": c.__name__, "args": {}}


def qconfig_rec(q):
    if q is None:
        return None
    return {"activation": ctor_rec(q.activation), "weight": ctor_rec(q.weight)}


def key_name(k):
    return k if isinstance(k, str) else k.__name__


mappings = {}
for backend in ["fbgemm", "qnnpack", "x86", "onednn"]:
    m = get_default_qconfig_mapping(backend)
    mappings[backend] = {
        "global": qconfig_rec(m.global_qconfig),
        "objectType": [[key_name(k), type(k).__name__ if not isinstance(k, str) else "str", qconfig_rec(v)]
                       for k, v in m.object_type_qconfigs.items()],
    }
presets = {
    "getDefaultQConfig": {b: qconfig_rec(QC.get_default_qconfig(b)) for b in ["fbgemm", "qnnpack", "x86", "onednn", "other"]},
    "defaultQConfig": qconfig_rec(QC.default_qconfig),
    "defaultDebugQConfig": qconfig_rec(QC.default_debug_qconfig),
    "defaultPerChannelQConfig": qconfig_rec(QC.default_per_channel_qconfig),
    "defaultDynamicQConfig": qconfig_rec(QC.default_dynamic_qconfig),
    "perChannelDynamicQConfig": qconfig_rec(QC.per_channel_dynamic_qconfig),
    "float16DynamicQConfig": qconfig_rec(QC.float16_dynamic_qconfig),
    "float16StaticQConfig": qconfig_rec(QC.float16_static_qconfig),
    "floatQparamsWeightOnlyQConfig": qconfig_rec(QC.float_qparams_weight_only_qconfig),
    "defaultReuseInputQConfig": qconfig_rec(QC.default_reuse_input_qconfig),
    "defaultSymmetricQnnpackQConfig": qconfig_rec(QC.default_symmetric_qnnpack_qconfig),
    "defaultPerChannelSymmetricQnnpackQConfig": qconfig_rec(QC.default_per_channel_symmetric_qnnpack_qconfig),
}
observer_partials = {n: ctor_rec(getattr(O, n)) for n in [
    "default_observer", "default_placeholder_observer", "default_debug_observer", "default_weight_observer",
    "weight_observer_range_neg_127_to_127", "default_histogram_observer", "default_per_channel_weight_observer",
    "per_channel_weight_observer_range_neg_127_to_127", "default_dynamic_quant_observer",
    "default_float_qparams_observer", "default_fixed_qparams_range_neg1to1_observer",
    "default_fixed_qparams_range_0to1_observer", "default_reuse_input_observer"]}

# ---------------------------------------------------------------- QConfigMapping precedence
from torch.ao.quantization.qconfig_mapping import QConfigMapping
from torch.ao.quantization.qconfig_mapping_utils import maybe_adjust_qconfig_for_module_type_or_name, get_object_type_qconfig
from torch.ao.quantization.fx.qconfig_mapping_utils import maybe_adjust_qconfig_for_module_name_object_type_order
from torch.ao.quantization.utils import _parent_name
labels = {}
def lab(name, act):
    q = QC.QConfig(activation=act, weight=O.default_weight_observer)
    labels[id(q)] = name
    return q
qA = lab("A", O.MinMaxObserver.with_args(eps=1.0)); qB = lab("B", O.MinMaxObserver.with_args(eps=2.0))
qC = lab("C", O.MinMaxObserver.with_args(eps=3.0)); qC2 = lab("C2", O.MinMaxObserver.with_args(eps=3.5))
qD = lab("D", O.MinMaxObserver.with_args(eps=4.0)); qE = lab("E", O.MinMaxObserver.with_args(eps=5.0))
qF = lab("F", O.MinMaxObserver.with_args(eps=6.0))
pm = (QConfigMapping().set_global(qA).set_object_type(torch.nn.Linear, qB).set_object_type(torch.add, qF)
      .set_module_name_regex("foo.*conv", qC).set_module_name_regex("foo.*", qC2)
      .set_module_name("foo.bar", qD).set_module_name("baz", None)
      .set_module_name_object_type_order("foo", torch.nn.Linear, 1, qE)
      .set_module_name_object_type_order("blk", torch.add, 0, qE))
def L(q):
    return None if q is None else labels[id(q)]
queries = []
for name, typ, idx in [("x", torch.nn.Linear, 0), ("x", torch.nn.Conv2d, 0), ("foo.conv1", torch.nn.Conv2d, 0),
                       ("foo.lin", torch.nn.Linear, 0), ("foo.lin", torch.nn.Linear, 1), ("foo.bar", torch.nn.Linear, 1),
                       ("foo.bar.x", torch.nn.Conv2d, 0), ("foo.barx", torch.nn.ReLU, 0), ("baz.q", torch.nn.Linear, 0),
                       ("xfoo", torch.nn.ReLU, 0), ("foo", torch.nn.Linear, 1)]:
    q = maybe_adjust_qconfig_for_module_type_or_name(pm, typ, name, pm.global_qconfig)
    q = maybe_adjust_qconfig_for_module_name_object_type_order(pm, _parent_name(name)[0], typ, idx, q)
    queries.append({"kind": "module", "moduleName": name, "objectType": typ.__name__, "index": idx, "expect": L(q)})
for scope, stype, idx in [("", torch.nn.Module, 0), ("blk", torch.nn.Module, 0), ("blk", torch.nn.Module, 1),
                          ("foo.bar", torch.nn.Module, 0), ("baz", torch.nn.Module, 0)]:
    fq = get_object_type_qconfig(pm, torch.add, pm.global_qconfig)
    q = maybe_adjust_qconfig_for_module_type_or_name(pm, stype, scope, fq)
    q = maybe_adjust_qconfig_for_module_name_object_type_order(pm, scope, torch.add, idx, q)
    queries.append({"kind": "function", "fn": "add", "scope": scope, "scopeType": "Module", "index": idx, "expect": L(q)})
precedence = {"entries": "global A; object_type Linear B, add F; regex 'foo.*conv' C, 'foo.*' C2; module_name foo.bar D, baz None; order (foo, Linear, 1) E, (blk, add, 0) E",
              "queries": queries}

meta = {"torchPackage": TORCH_PACKAGE, "torchVersion": torch.__version__, "seed": SEED,
        "cpuCapability": "AVX2 (torch.sum lane width 8)",
        "generator": "tools/goldens/observers.py"}
os.makedirs(OUT, exist_ok=True)
for fname, payload in [("observers.json", {"meta": meta, "cases": mm}),
                       ("histogram.json", {"meta": meta, "cases": hist}),
                       ("qconfig-mappings.json", {"meta": meta, "mappings": mappings, "presets": presets,
                                                  "observerPartials": observer_partials, "precedence": precedence})]:
    with open(os.path.join(OUT, fname), "w") as f:
        json.dump(payload, f, indent=1)
        f.write("\n")
    print(fname, os.path.getsize(os.path.join(OUT, fname)), "bytes")
print("torch", TORCH_PACKAGE, "cases", len(mm), len(hist))
