#!/usr/bin/python3
"""Goldens for @quint/converter's graph mode (prepare_fx, convert_to_reference_fx, convert_fx), from
real PyTorch 1.13 (Debian python3-torch 1.13.1+dfsg-4).

Run: /usr/bin/python3 tools/goldens/converter_fx.py
Writes packages/converter/test/goldens/fx/converter_fx.json. For each model (an MLP; a CNN with
conv-bn-relu, maxpool, a residual +, adaptive avgpool, flatten, linear; a depthwise-separable block;
a block using cat and hardswish) under get_default_qconfig_mapping('qnnpack') and ('fbgemm'):
- the float state_dict (BN statistics set to seeded random values), calibration batches, test batch;
- the observed graph (node list and printout);
- every activation_post_process_<k> after calibration: class, buffers (min_val, max_val,
  histogram), qparams, and which names are one shared instance (`sharedWith`: the first name of
  that instance);
- the reference graph (convert_to_reference_fx) printout;
- per engine (qnnpack, onednn): the converted graph (node list, printout, code), every quantized
  module (weight codes and qparams, float bias, output scale / zero point), every quantized value
  the converted graph computes on the test batch (codes and qparams, by node name), and the float
  output.
It also checks, for the seed model and a plain CNN, that PyTorch's eager and FX flows give the same
integers (`eagerEqualsFx`).
Tensors: base64 little-endian (float32 / int8 / uint8 / int32 as named).
"""
import base64, copy, json, os, subprocess
import numpy as np
import torch
import torch.nn as nn
import torch.fx
from torch.ao.quantization import QuantStub, DeQuantStub, get_default_qconfig, get_default_qconfig_mapping, fuse_modules, prepare, convert
from torch.ao.quantization.quantize_fx import prepare_fx, convert_fx, convert_to_reference_fx
from torch.ao.ns.fx.utils import compute_sqnr, compute_normalized_l2_error, compute_cosine_similarity

SEED = 20261128
torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'packages', 'converter', 'test', 'goldens', 'fx')
ENGINES = ['qnnpack', 'onednn']
PRESETS = ['qnnpack', 'fbgemm']


def deb_version():
    return subprocess.run(['dpkg-query', '-W', '-f=${Version}', 'python3-torch'], capture_output=True, text=True).stdout.strip()


def f32(t):
    a = t.detach().float().numpy().astype('<f4').copy(order='C')
    return {'shape': list(t.shape), 'dtype': 'float32', 'b64': base64.b64encode(a.tobytes()).decode()}


def codes(q):
    r = q.int_repr().contiguous().numpy()
    dt = {np.dtype('uint8'): 'uint8', np.dtype('int8'): 'int8', np.dtype('int32'): 'int32'}[r.dtype]
    return {'shape': list(q.shape), 'dtype': dt, 'b64': base64.b64encode(np.ascontiguousarray(r).astype(r.dtype.newbyteorder('<')).tobytes()).decode()}


def qparams(q):
    if q.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        return {'qscheme': str(q.qscheme()).replace('torch.', ''), 'scale': q.q_scale(), 'zeroPoint': q.q_zero_point()}
    return {'qscheme': str(q.qscheme()).replace('torch.', ''), 'scales': q.q_per_channel_scales().tolist(),
            'zeroPoints': q.q_per_channel_zero_points().tolist(), 'axis': q.q_per_channel_axis()}


# ---- models (property names without underscores, so quint's camelCase paths equal PyTorch's) ----

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(32, 8)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        return self.sigmoid(self.fc2(self.relu(self.fc1(x))))


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


class DWSep(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.stembn = nn.BatchNorm2d(8)
        self.stemrelu = nn.ReLU()
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.dwbn = nn.BatchNorm2d(8)
        self.dwrelu = nn.ReLU6()
        self.pw = nn.Conv2d(8, 16, 1)
        self.pwbn = nn.BatchNorm2d(16)
        self.pwrelu = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stemrelu(self.stembn(self.stem(x)))
        x = self.dwrelu(self.dwbn(self.dw(x)))
        x = self.pwrelu(self.pwbn(self.pw(x)))
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


class CatHardswish(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.hs = nn.Hardswish()
        self.conv2 = nn.Conv2d(3, 8, 1)
        self.relu = nn.ReLU()
        self.conv3 = nn.Conv2d(16, 8, 3, padding=1)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        a = self.hs(self.conv1(x))
        b = self.relu(self.conv2(x))
        c = torch.cat([a, b], 1)
        d = self.avgpool(self.conv3(c))
        return self.fc(torch.flatten(d, 1))


class Seed(nn.Module):
    """The seed program's model (QuantStub/DeQuantStub are traced through by FX)."""
    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.conv = nn.Conv2d(1, 1, 1)
        self.relu = nn.ReLU()
        self.dequant = DeQuantStub()

    def forward(self, x):
        return self.dequant(self.relu(self.conv(self.quant(x))))


class PlainCNN(nn.Module):
    """conv-bn-relu, conv-relu, linear: the same observers in eager and FX."""
    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 4, 3, stride=2)
        self.relu2 = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(36, 5)
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.relu2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.dequant(self.fc(self.flatten(x)))


MODELS = [
    ('mlp', MLP, [4, 16], 2),
    ('cnn', CNN, [4, 3, 8, 8], 2),
    ('dwsep', DWSep, [4, 3, 8, 8], 2),
    ('cat-hardswish', CatHardswish, [4, 3, 6, 6], 2),
]


def randomize_bn(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                n = m.num_features
                m.running_mean.copy_(torch.randn(n) * 0.2)
                m.running_var.copy_(torch.rand(n) + 0.5)
                m.weight.copy_(torch.rand(n) + 0.5)
                m.bias.copy_(torch.randn(n) * 0.2)


def fmt_target(n):
    t = n.target
    if isinstance(t, str):
        return t
    return torch.fx.node._get_qualified_name(t)


def node_list(g):
    return [{'op': n.op, 'name': n.name, 'target': fmt_target(n),
             'args': torch.fx.node._format_arg(n.args), 'users': len(n.users)} for n in g.nodes]


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


class Recorder(torch.fx.Interpreter):
    """Runs a converted GraphModule and keeps every quantized value by node name."""
    def __init__(self, gm):
        super().__init__(gm)
        self.values = {}

    def run_node(self, n):
        out = super().run_node(n)
        if torch.is_tensor(out) and out.is_quantized:
            self.values[n.name] = {'codes': codes(out), 'qparams': qparams(out)}
        return out


def observers_of(prepared):
    out = {}
    first = {}
    for name, m in prepared.named_modules(remove_duplicate=False):
        if not name.startswith('activation_post_process_'):
            continue
        key = id(m)
        shared = first.setdefault(key, name)
        s, z = m.calculate_qparams()
        out[name] = {
            'class': type(m).__name__,
            'sharedWith': shared,
            'state': {k: f32(v) for k, v in m.state_dict().items()},
            'scale': s.reshape(-1).tolist(), 'zeroPoint': z.reshape(-1).tolist(),
        }
    return out


def fx_case(name, make, shape, n_calib, preset):
    torch.manual_seed(SEED)
    model = make()
    randomize_bn(model)
    model.eval()
    float_sd = model.state_dict()
    calib = [torch.randn(*shape) for _ in range(n_calib)]
    test = torch.randn(*shape)
    mapping = get_default_qconfig_mapping(preset)
    prepared = prepare_fx(copy.deepcopy(model), mapping, (calib[0],))
    observed_graph = str(prepared.graph)
    observed_nodes = node_list(prepared.graph)
    with torch.no_grad():
        for b in calib:
            prepared(b)
        float_out = model(test)
    observers = observers_of(prepared)
    ref = convert_to_reference_fx(copy.deepcopy(prepared))
    with torch.no_grad():
        ref_out = ref(test)
    engines = {}
    for engine in ENGINES:
        torch.backends.quantized.engine = engine
        q = convert_fx(copy.deepcopy(prepared))
        modules = {n.target: describe_module(q.get_submodule(n.target)) for n in q.graph.nodes if n.op == 'call_module'}
        rec = Recorder(q)
        with torch.no_grad():
            y = rec.run(test)
        attrs = {}
        for n in q.graph.nodes:
            if n.op == 'get_attr':
                v = getattr(q, n.target)
                attrs[n.target] = float(v) if not torch.is_tensor(v) else (float(v.item()) if v.dtype.is_floating_point else int(v.item()))
        engines[engine] = {
            'graph': str(q.graph), 'code': q.code, 'nodes': node_list(q.graph), 'attrs': attrs,
            'modules': modules, 'values': rec.values, 'output': f32(y),
            # torch.ao.ns.fx.utils on (float model output, quantized model output)
            'ns': {'sqnr': float(compute_sqnr(float_out, y)), 'l2': float(compute_normalized_l2_error(float_out, y)),
                   'cosine': float(compute_cosine_similarity(float_out, y).item())},
        }
    return {
        'name': name, 'preset': preset, 'qconfigMapping': "get_default_qconfig_mapping('%s')" % preset,
        'floatStateDict': {k: f32(v) for k, v in float_sd.items()},
        'calibration': [f32(b) for b in calib], 'test': f32(test),
        'observedGraph': observed_graph, 'observedNodes': observed_nodes, 'observers': observers,
        'referenceGraph': str(ref.graph), 'referenceOutput': f32(ref_out), 'floatOutput': f32(float_out),
        'engines': engines,
    }


def eager_equals_fx(make, shape, fuse_list, preset):
    """PyTorch's eager and FX flows on a model where they place the same observers: same integers?"""
    torch.manual_seed(SEED + 7)
    model = make()
    randomize_bn(model)
    model.eval()
    calib = [torch.randn(*shape) for _ in range(2)]
    test = torch.randn(*shape)
    eager = fuse_modules(copy.deepcopy(model), fuse_list) if fuse_list else copy.deepcopy(model)
    eager.qconfig = get_default_qconfig(preset)
    eager = prepare(eager)
    fx = prepare_fx(copy.deepcopy(model), get_default_qconfig_mapping(preset), (calib[0],))
    with torch.no_grad():
        for b in calib:
            eager(b)
            fx(b)
    res = {}
    for engine in ENGINES:
        torch.backends.quantized.engine = engine
        qe = convert(copy.deepcopy(eager))
        qf = convert_fx(copy.deepcopy(fx))
        with torch.no_grad():
            ye, yf = qe(test), qf(test)
        res[engine] = bool(torch.equal(ye, yf))
    return res


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []
    for name, make, shape, n_calib in MODELS:
        for preset in PRESETS:
            cases.append(fx_case(name, make, shape, n_calib, preset))
    eq = {
        'seed': eager_equals_fx(Seed, [4, 1, 4, 4], [['conv', 'relu']], 'qnnpack'),
        'plain-cnn': eager_equals_fx(PlainCNN, [4, 1, 8, 8], [['conv1', 'bn1', 'relu1'], ['conv2', 'relu2']], 'qnnpack'),
    }
    meta = {'torch': torch.__version__, 'torchPackage': deb_version(), 'seed': SEED, 'threads': 1}
    with open(os.path.join(OUT, 'converter_fx.json'), 'w') as f:
        json.dump({'generator': 'tools/goldens/converter_fx.py', **meta, 'eagerEqualsFx': eq, 'cases': cases}, f)
    print('eager == fx:', eq)
    for c in cases:
        print(c['name'], c['preset'], len(c['observers']), 'observers')


if __name__ == '__main__':
    main()
