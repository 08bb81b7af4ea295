#!/usr/bin/python3
"""Golden for apps/reference's seed program (`quint explain`), from real PyTorch 1.13 (Debian
python3-torch 1.13.1+dfsg-4).

The seed's program is the eager static-quantization example a user posted when asking "static
quantization still uses float weights instead of int?" (discuss.pytorch.org/t/158755): model M
(QuantStub -> Conv2d(1, 1, 1) -> ReLU -> DeQuantStub), get_default_qconfig('fbgemm'), fuse
[['conv', 'relu']], prepare, calibrate on randn(4, 1, 4, 4), convert, forward hooks on the conv,
then the same batch once more. The user then checked the hooked tensors by hand twice:
- float: relu(F.conv2d(x.dequantize(), w.dequantize(), b)) equals forward() up to float rounding,
  which made them believe the int8 model computes in float;
- integer: F.conv2d(x.int_repr(), w.int_repr()), the stored codes multiplied and summed (zero
  points, scales and bias left out), which gives values in the thousands, nothing like the output
  codes 0..255.
This script runs that program once per engine (qnnpack, onednn; this build has no FBGEMM) on the
same float weights and batch, and records both manual checks.

Run: /usr/bin/python3 tools/goldens/seed_program.py
Writes:
- apps/reference/test/goldens/seed_program.json: everything below.
- apps/reference/src/seed/seed-inputs.json: only what the TS port needs to run the same program
  (the float state_dict and the batch), bundled into the CLI.
Floats are JSON numbers holding the exact float32 value (shortest round-trip of that double);
tensors are { shape, values } with values flat in C (NCHW) order.
"""
import copy, json, os, subprocess
import numpy as np
import torch
import torch.nn.functional as F

# Any seed reproduces the user's question; this one gives a positive weight and a positive bias, so
# that ReLU leaves 48 of the 64 outputs non-zero and clamps the rest: a walk-through with both cases.
SEED = 30
torch.set_num_threads(1)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
GOLDEN = os.path.join(ROOT, 'apps', 'reference', 'test', 'goldens', 'seed_program.json')
INPUTS = os.path.join(ROOT, 'apps', 'reference', 'src', 'seed', 'seed-inputs.json')
ENGINES = ['qnnpack', 'onednn']


def deb_version():
    return subprocess.run(['dpkg-query', '-W', '-f=${Version}', 'python3-torch'], capture_output=True, text=True).stdout.strip()


def cpu_flags():
    flags = set()
    for line in open('/proc/cpuinfo'):
        if line.startswith('flags'):
            flags |= {f for f in line.split() if f in ('avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx_vnni', 'amx_tile')}
    return sorted(flags)


def floats(t):
    a = t.detach().float().contiguous().numpy().astype(np.float32).ravel()
    return {'shape': list(t.shape), 'values': [float(v) for v in a]}


def ints(t):
    return {'shape': list(t.shape), 'values': [int(v) for v in t.contiguous().numpy().ravel()]}


def qtensor(q):
    d = ints(q.int_repr())
    d['dtype'] = str(q.dtype).replace('torch.', '')
    d['qscheme'] = str(q.qscheme()).replace('torch.', '')
    if q.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        d['scale'] = q.q_scale()
        d['zeroPoint'] = q.q_zero_point()
    else:
        d['scales'] = q.q_per_channel_scales().tolist()
        d['zeroPoints'] = q.q_per_channel_zero_points().tolist()
        d['axis'] = q.q_per_channel_axis()
    return d


# ---- the seed's program, as posted (comments shortened) ------------------------------------------

class M(torch.nn.Module):
    def __init__(self):
        super(M, self).__init__()
        self.quant = torch.quantization.QuantStub()
        self.conv = torch.nn.Conv2d(1, 1, 1)
        self.relu = torch.nn.ReLU()
        self.dequant = torch.quantization.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.conv(x)
        x = self.relu(x)
        x = self.dequant(x)
        return x


def main():
    torch.manual_seed(SEED)
    model_fp32 = M()
    model_fp32.eval()
    float_state = {k: floats(v) for k, v in model_fp32.state_dict().items()}
    model_fp32.qconfig = torch.quantization.get_default_qconfig('fbgemm')
    model_fp32_fused = torch.quantization.fuse_modules(model_fp32, [['conv', 'relu']])
    model_fp32_prepared = torch.quantization.prepare(model_fp32_fused)
    input_fp32 = torch.randn(4, 1, 4, 4)
    model_fp32_prepared(input_fp32)

    prepared_sd = model_fp32_prepared.state_dict()
    observers = {k: floats(v) for k, v in prepared_sd.items() if 'activation_post_process' in k}
    observer_qparams = {}
    for path, m in model_fp32_prepared.named_modules():
        if isinstance(m, torch.ao.quantization.ObserverBase):
            s, z = m.calculate_qparams()
            observer_qparams[path.replace('.activation_post_process', '')] = {'scale': float(s.item()), 'zeroPoint': int(z.item())}

    engines = {}
    for engine in ENGINES:
        torch.backends.quantized.engine = engine
        model_int8 = torch.quantization.convert(copy.deepcopy(model_fp32_prepared))

        # The user's forward hooks: the conv's input, weight and output.
        captured = {}

        def hook(module, inputs, output):
            captured['input'] = inputs[0]
            captured['weight'] = module.weight()
            captured['bias'] = module.bias()
            captured['output'] = output
        handle = model_int8.conv.register_forward_hook(hook)
        res = model_int8(input_fp32)
        handle.remove()

        x, w, b, y = captured['input'], captured['weight'], captured['bias'], captured['output']
        # Manual check 1 (float): dequantize the hooked tensors, run the float conv, then ReLU.
        manual_float = F.relu(F.conv2d(x.dequantize(), w.dequantize(), b))
        # Manual check 2 (integer, as attempted): the stored codes multiplied and summed.
        manual_int = F.conv2d(x.int_repr().float(), w.int_repr().float())
        engines[engine] = {
            'repr': repr(model_int8),
            'input': qtensor(x),
            'weight': qtensor(w),
            'bias': floats(b),
            'output': qtensor(y),
            'forward': floats(res),
            'manualFloat': {
                'expression': 'relu(F.conv2d(x.dequantize(), w.dequantize(), b))',
                **floats(manual_float),
                'maxAbsDiffToForward': float((manual_float - res).abs().max()),
                'outputScale': y.q_scale(),
            },
            'manualInteger': {
                'expression': 'F.conv2d(x.int_repr().float(), w.int_repr().float())',
                **floats(manual_int),
            },
        }

    meta = {'torch': torch.__version__, 'debianPackage': 'python3-torch ' + deb_version(), 'seed': SEED, 'threads': 1, 'cpuFlags': cpu_flags()}
    inputs = {'generator': 'tools/goldens/seed_program.py', **meta, 'floatStateDict': float_state, 'input': floats(input_fp32)}
    golden = {
        'generator': 'tools/goldens/seed_program.py', **meta,
        'qconfig': "get_default_qconfig('fbgemm')", 'fuse': [['conv', 'relu']],
        'floatStateDict': float_state, 'input': floats(input_fp32),
        'preparedRepr': repr(model_fp32_prepared),
        'observers': observers, 'observerQparams': observer_qparams,
        'engines': engines,
    }
    os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
    with open(GOLDEN, 'w') as f:
        json.dump(golden, f)
        f.write('\n')
    with open(INPUTS, 'w') as f:
        json.dump(inputs, f)
        f.write('\n')


if __name__ == '__main__':
    main()
