#!/usr/bin/python3
"""Quantized ONNX fixtures for @quint/onnx (issue 7), built with Debian's onnx 1.12 helper.

Python's onnxruntime is not installable here, so the models are written by hand in the forms ONNX
Runtime's tools write them; the tests run them in onnxruntime-node/-web for the expected outputs.
Calibration: min/max of a small float PyTorch model's activations over 16 seeded random inputs,
qparams as ORT's quantize_static computes them (activations asymmetric, rmin<=0<=rmax,
zp = round(qmin - rmin/scale); weights int8 symmetric per output channel, [-127, 127], zp 0;
bias int32 = round(b / f32(x_scale * w_scale)), zp 0).

  qdq-u8s8.onnx   quantize_static(quant_format=QDQ, activation_type=QUInt8, weight_type=QInt8, per_channel=True):
                  Q/DQ → Conv (ReLU absorbed into the output Q, zp 0) → MaxPool → Conv → Reshape → Gemm → DQ
  qdq-s8s8.onnx   the same graph with int8 activations (ORT runs it in float, spec onnx-ort-and-peers §1.4)
  qop-cnn.onnx    QOperator: QuantizeLinear → QLinearConv → MaxPool(uint8) → QLinearConv → Reshape → QLinearMatMul → DequantizeLinear
  qop-ms.onnx     QOperator with com.microsoft ops: QLinearConv, QLinearAdd, QLinearMul, QLinearConcat,
                  QLinearAveragePool, QLinearGlobalAveragePool, QLinearSigmoid
  dyn-matmul.onnx quantize_dynamic form: DynamicQuantizeLinear → MatMulInteger → Cast → Mul(scales) → Add(bias),
                  and DynamicQuantizeLinear → ConvInteger → Cast → Mul → Add
  *-rr.onnx       the same with reduce_range=True (7-bit weights), which x64 AVX2 ORT computes without int16 saturation
  calib.npy       the 16 calibration inputs [16, 3, 8, 8]; x.npy a test input [2, 3, 8, 8]

Usage: /usr/bin/python3 tools/goldens/onnx_quantized.py
"""
import json
import os

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'packages', 'onnx', 'test', 'fixtures')
F32 = np.float32


def act_qparams(lo, hi, signed):
    qmin, qmax = (-128, 127) if signed else (0, 255)
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = F32((hi - lo) / (qmax - qmin))
    zp = int(np.round(qmin - lo / scale))
    return scale, int(np.clip(zp, qmin, qmax))


REDUCE_RANGE = [False]


def weight_qparams(w):
    # per output channel, symmetric int8 [-127, 127]; reduce_range=True: 7 bits, [-63, 63] (ORT's advice
    # for AVX2 without VNNI, whose VPMADDUBSW saturates int16 pair sums)
    qmax = 63 if REDUCE_RANGE[0] else 127
    absmax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    scale = (absmax / F32(qmax)).astype(F32)
    scale[scale == 0] = F32(1.0)
    q = np.clip(np.round(w / scale.reshape(-1, *([1] * (w.ndim - 1)))), -qmax, qmax).astype(np.int8)
    return q, scale


def bias_int32(b, xs, ws):
    s = (F32(xs) * ws).astype(F32)
    return np.round((b.astype(F32) / s).astype(F32)).astype(np.int32), s


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 6, 3, padding=1)
        self.pool = torch.nn.MaxPool2d(2)
        self.conv2 = torch.nn.Conv2d(6, 8, 3, padding=1)
        self.fc = torch.nn.Linear(8 * 4 * 4, 5)

    def acts(self, x):
        a = torch.relu(self.conv1(x))
        b = self.pool(a)
        c = torch.relu(self.conv2(b))
        d = c.reshape(c.shape[0], -1)
        return {'x': x, 'conv1': a, 'pool': b, 'conv2': c, 'fc': self.fc(d)}


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def qdq_model(net, ranges, signed, name):
    et = TensorProto.INT8 if signed else TensorProto.UINT8
    zdt = np.int8 if signed else np.uint8
    nodes, inits = [], []
    qp = {k: act_qparams(*ranges[k], signed) for k in ranges}

    def q_dq(src, key, tag):
        s, z = qp[key]
        inits.extend([init(f'{tag}_scale', F32(s)), init(f'{tag}_zero_point', zdt(z))])
        nodes.append(helper.make_node('QuantizeLinear', [src, f'{tag}_scale', f'{tag}_zero_point'], [f'{tag}_q'], name=f'{tag}_QuantizeLinear'))
        nodes.append(helper.make_node('DequantizeLinear', [f'{tag}_q', f'{tag}_scale', f'{tag}_zero_point'], [f'{tag}_dq'], name=f'{tag}_DequantizeLinear'))
        return f'{tag}_dq'

    def weights(tag, w, b, xkey):
        q, s = weight_qparams(w)
        bq, bs = bias_int32(b, qp[xkey][0], s)
        inits.extend([init(f'{tag}.weight_quantized', q), init(f'{tag}.weight_scale', s), init(f'{tag}.weight_zero_point', np.zeros(len(s), np.int8)),
                      init(f'{tag}.bias_quantized', bq), init(f'{tag}.bias_scale', bs), init(f'{tag}.bias_zero_point', np.zeros(len(s), np.int32))])
        nodes.append(helper.make_node('DequantizeLinear', [f'{tag}.weight_quantized', f'{tag}.weight_scale', f'{tag}.weight_zero_point'], [f'{tag}.weight'], axis=0))
        nodes.append(helper.make_node('DequantizeLinear', [f'{tag}.bias_quantized', f'{tag}.bias_scale', f'{tag}.bias_zero_point'], [f'{tag}.bias'], axis=0))

    sd = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    x = q_dq('x', 'x', 'input')
    weights('conv1', sd['conv1.weight'], sd['conv1.bias'], 'x')
    nodes.append(helper.make_node('Conv', [x, 'conv1.weight', 'conv1.bias'], ['conv1_out'], name='/conv1/Conv', pads=[1, 1, 1, 1], kernel_shape=[3, 3]))
    a = q_dq('conv1_out', 'conv1', 'conv1_out')
    nodes.append(helper.make_node('MaxPool', [a], ['pool_out'], name='/pool/MaxPool', kernel_shape=[2, 2], strides=[2, 2]))
    b = q_dq('pool_out', 'conv1', 'pool_out')  # MaxPool keeps its input's qparams (ORT's QDQ quantizer)
    weights('conv2', sd['conv2.weight'], sd['conv2.bias'], 'conv1')
    nodes.append(helper.make_node('Conv', [b, 'conv2.weight', 'conv2.bias'], ['conv2_out'], name='/conv2/Conv', pads=[1, 1, 1, 1], kernel_shape=[3, 3]))
    c = q_dq('conv2_out', 'conv2', 'conv2_out')
    inits.append(init('shape', np.array([-1, 128], np.int64)))
    nodes.append(helper.make_node('Reshape', [c, 'shape'], ['flat'], name='/Reshape'))
    d = q_dq('flat', 'conv2', 'flat')
    weights('fc', sd['fc.weight'], sd['fc.bias'], 'conv2')
    nodes.append(helper.make_node('Gemm', [d, 'fc.weight', 'fc.bias'], ['fc_out'], name='/fc/Gemm', transB=1))
    e = q_dq('fc_out', 'fc', 'fc_out')
    nodes.append(helper.make_node('Identity', [e], ['y'], name='output_Identity'))
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['batch', 3, 8, 8])],
                          [helper.make_tensor_value_info('y', TensorProto.FLOAT, ['batch', 5])], inits)
    return g


def qop_model(net, ranges):
    qp = {k: act_qparams(*ranges[k], False) for k in ranges}
    sd = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    nodes, inits = [], []

    def sc(tag, key):
        s, z = qp[key]
        inits.extend([init(f'{tag}_scale', F32(s)), init(f'{tag}_zero_point', np.uint8(z))])
        return [f'{tag}_scale', f'{tag}_zero_point']

    nodes.append(helper.make_node('QuantizeLinear', ['x'] + sc('x', 'x'), ['x_q'], name='x_QuantizeLinear'))
    for tag, xkey, ykey, src, dst in [('conv1', 'x', 'conv1', 'x_q', 'conv1_q'), ('conv2', 'conv1', 'conv2', 'pool_q', 'conv2_q')]:
        q, s = weight_qparams(sd[f'{tag}.weight'])
        bq, _ = bias_int32(sd[f'{tag}.bias'], qp[xkey][0], s)
        inits.extend([init(f'{tag}.w', q), init(f'{tag}.ws', s), init(f'{tag}.wz', np.zeros(len(s), np.int8)), init(f'{tag}.b', bq)])
        nodes.append(helper.make_node('QLinearConv', [src] + sc(f'{tag}_in', xkey) + [f'{tag}.w', f'{tag}.ws', f'{tag}.wz'] + sc(f'{tag}_out', ykey) + [f'{tag}.b'],
                                      [dst], name=f'/{tag}/QLinearConv', pads=[1, 1, 1, 1], kernel_shape=[3, 3]))
        if tag == 'conv1':
            nodes.append(helper.make_node('MaxPool', ['conv1_q'], ['pool_q'], name='/pool/MaxPool', kernel_shape=[2, 2], strides=[2, 2]))
    inits.append(init('shape', np.array([-1, 128], np.int64)))
    nodes.append(helper.make_node('Reshape', ['conv2_q', 'shape'], ['flat_q'], name='/Reshape'))
    q, s = weight_qparams(sd['fc.weight'])
    inits.extend([init('fc.w', np.ascontiguousarray(q.T)), init('fc.ws', s), init('fc.wz', np.zeros(len(s), np.int8))])
    nodes.append(helper.make_node('QLinearMatMul', ['flat_q'] + sc('fc_in', 'conv2') + ['fc.w', 'fc.ws', 'fc.wz'] + sc('fc_out', 'fc'), ['fc_q'], name='/fc/QLinearMatMul'))
    nodes.append(helper.make_node('DequantizeLinear', ['fc_q', 'fc_out_scale', 'fc_out_zero_point'], ['y'], name='y_DequantizeLinear'))
    return helper.make_graph(nodes, 'qop-cnn', [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['batch', 3, 8, 8])],
                             [helper.make_tensor_value_info('y', TensorProto.FLOAT, ['batch', 5])], inits)


def qop_ms_model(net, ranges, calib):
    # conv1 → {add(conv1, conv1'), mul, concat, avgpool, global avgpool, sigmoid}; ranges from float evaluation.
    qp = {k: act_qparams(*ranges[k], False) for k in ranges}
    sd = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    with torch.no_grad():
        a = torch.relu(net.conv1(calib))
        extra = {'add': a + a * 0.5, 'mul': a * a, 'sig': torch.sigmoid(a), 'avg': torch.nn.functional.avg_pool2d(a, 3, 1, 1, count_include_pad=False)}
        extra['cat'] = torch.cat([extra['add'], extra['mul']], 1)
        extra['gap'] = extra['cat'].mean((2, 3), keepdim=True)
    for k, v in extra.items():
        qp[k] = act_qparams(v.min(), v.max(), False)
    qp['half'] = act_qparams(float(a.min()) * 0.5, float(a.max()) * 0.5, False)
    nodes, inits = [], []

    def sc(tag, key):
        s, z = qp[key]
        inits.extend([init(f'{tag}_scale', F32(s)), init(f'{tag}_zero_point', np.uint8(z))])
        return [f'{tag}_scale', f'{tag}_zero_point']

    ms = 'com.microsoft'
    nodes.append(helper.make_node('QuantizeLinear', ['x'] + sc('x', 'x'), ['x_q'], name='x_QuantizeLinear'))
    q, s = weight_qparams(sd['conv1.weight'])
    bq, _ = bias_int32(sd['conv1.bias'], qp['x'][0], s)
    inits.extend([init('conv1.w', q), init('conv1.ws', s), init('conv1.wz', np.zeros(len(s), np.int8)), init('conv1.b', bq)])
    nodes.append(helper.make_node('QLinearConv', ['x_q'] + sc('c_in', 'x') + ['conv1.w', 'conv1.ws', 'conv1.wz'] + sc('c_out', 'conv1') + ['conv1.b'],
                                  ['a_q'], name='/conv1/QLinearConv', pads=[1, 1, 1, 1], kernel_shape=[3, 3]))
    # a second view of a at half scale, via QLinearMul by a constant-free path: requantize with QLinearAdd(a, a) is not half;
    # use QLinearSigmoid etc. directly on a.
    nodes.append(helper.make_node('QLinearAdd', ['a_q'] + sc('a1', 'conv1') + ['a_q'] + sc('a2', 'conv1') + sc('add', 'add'), ['add_q'], name='/QLinearAdd', domain=ms))
    nodes.append(helper.make_node('QLinearMul', ['a_q'] + sc('m1', 'conv1') + ['a_q'] + sc('m2', 'conv1') + sc('mul', 'mul'), ['mul_q'], name='/QLinearMul', domain=ms))
    nodes.append(helper.make_node('QLinearConcat', sc('cat', 'cat') + ['add_q'] + sc('c1', 'add') + ['mul_q'] + sc('c2', 'mul'), ['cat_q'], name='/QLinearConcat', domain=ms, axis=1))
    nodes.append(helper.make_node('QLinearAveragePool', ['a_q'] + sc('p_in', 'conv1') + sc('avg', 'avg'), ['avg_q'], name='/QLinearAveragePool', domain=ms,
                                  kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], count_include_pad=0))
    nodes.append(helper.make_node('QLinearGlobalAveragePool', ['cat_q'] + sc('g_in', 'cat') + sc('gap', 'gap'), ['gap_q'], name='/QLinearGlobalAveragePool', domain=ms, channels_last=0))
    nodes.append(helper.make_node('QLinearSigmoid', ['a_q'] + sc('s_in', 'conv1') + sc('sig', 'sig'), ['sig_q'], name='/QLinearSigmoid', domain=ms))
    outs = []
    for k in ['add', 'mul', 'cat', 'avg', 'gap', 'sig']:
        nodes.append(helper.make_node('DequantizeLinear', [f'{k}_q', f'{k}_scale', f'{k}_zero_point'], [f'y_{k}'], name=f'{k}_DequantizeLinear'))
        outs.append(helper.make_tensor_value_info(f'y_{k}', TensorProto.FLOAT, None))
    return helper.make_graph(nodes, 'qop-ms', [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['batch', 3, 8, 8])], outs, inits)


def dyn_model(net):
    sd = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    nodes, inits = [], []
    # ConvInteger branch on x
    q, s = weight_qparams(sd['conv1.weight'])
    inits.extend([init('conv1.w', q), init('conv1.wz', np.int8(0)), init('conv1.ws', s.reshape(1, -1, 1, 1)), init('conv1.b', sd['conv1.bias'].reshape(1, -1, 1, 1))])
    nodes.append(helper.make_node('DynamicQuantizeLinear', ['x'], ['xq', 'xs', 'xz'], name='x_DynamicQuantizeLinear'))
    nodes.append(helper.make_node('ConvInteger', ['xq', 'conv1.w', 'xz', 'conv1.wz'], ['c_i32'], name='/conv1/ConvInteger', pads=[1, 1, 1, 1], kernel_shape=[3, 3]))
    nodes.append(helper.make_node('Cast', ['c_i32'], ['c_f'], name='/conv1/Cast', to=TensorProto.FLOAT))
    nodes.append(helper.make_node('Mul', ['xs', 'conv1.ws'], ['c_s'], name='/conv1/scale_Mul'))
    nodes.append(helper.make_node('Mul', ['c_f', 'c_s'], ['c_m'], name='/conv1/Mul'))
    nodes.append(helper.make_node('Add', ['c_m', 'conv1.b'], ['y_conv'], name='/conv1/Add'))
    # MatMulInteger branch on the flattened x
    wfc = np.random.RandomState(3).randn(192, 7).astype(F32) * 0.1
    q2, s2 = weight_qparams(np.ascontiguousarray(wfc.T))
    inits.extend([init('fc.w', np.ascontiguousarray(q2.T)), init('fc.wz', np.int8(0)), init('fc.ws', s2), init('fc.b', np.linspace(-1, 1, 7).astype(F32)),
                  init('flat_shape', np.array([-1, 192], np.int64))])
    nodes.append(helper.make_node('Reshape', ['x', 'flat_shape'], ['xf'], name='/Reshape'))
    nodes.append(helper.make_node('DynamicQuantizeLinear', ['xf'], ['fq', 'fs', 'fz'], name='xf_DynamicQuantizeLinear'))
    nodes.append(helper.make_node('MatMulInteger', ['fq', 'fc.w', 'fz', 'fc.wz'], ['m_i32'], name='/fc/MatMulInteger'))
    nodes.append(helper.make_node('Cast', ['m_i32'], ['m_f'], name='/fc/Cast', to=TensorProto.FLOAT))
    nodes.append(helper.make_node('Mul', ['fs', 'fc.ws'], ['m_s'], name='/fc/scale_Mul'))
    nodes.append(helper.make_node('Mul', ['m_f', 'm_s'], ['m_m'], name='/fc/Mul'))
    nodes.append(helper.make_node('Add', ['m_m', 'fc.b'], ['y_fc'], name='/fc/Add'))
    return helper.make_graph(nodes, 'dyn', [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['batch', 3, 8, 8])],
                             [helper.make_tensor_value_info('y_conv', TensorProto.FLOAT, ['batch', 6, 8, 8]), helper.make_tensor_value_info('y_fc', TensorProto.FLOAT, ['batch', 7])], inits)


def save(graph, name, ms=False):
    opsets = [helper.make_opsetid('', 13)] + ([helper.make_opsetid('com.microsoft', 1)] if ms else [])
    m = helper.make_model(graph, opset_imports=opsets, producer_name='quint tools/goldens/onnx_quantized.py')
    m.ir_version = 7
    if not ms:
        onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, name))
    return os.path.getsize(os.path.join(OUT, name))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    net = Net().eval()
    g = torch.Generator().manual_seed(11)
    calib = torch.randn(16, 3, 8, 8, generator=g)
    x = torch.randn(2, 3, 8, 8, generator=g)
    with torch.no_grad():
        acts = net.acts(calib)
    ranges = {k: (float(v.min()), float(v.max())) for k, v in acts.items()}
    np.save(os.path.join(OUT, 'calib.npy'), calib.numpy())
    np.save(os.path.join(OUT, 'x.npy'), x.numpy())
    sizes = {
        'qdq-u8s8.onnx': save(qdq_model(net, ranges, False, 'qdq-u8s8'), 'qdq-u8s8.onnx'),
        'qdq-s8s8.onnx': save(qdq_model(net, ranges, True, 'qdq-s8s8'), 'qdq-s8s8.onnx'),
        'qop-cnn.onnx': save(qop_model(net, ranges), 'qop-cnn.onnx'),
        'qop-ms.onnx': save(qop_ms_model(net, ranges, calib), 'qop-ms.onnx', ms=True),
        'dyn-matmul.onnx': save(dyn_model(net), 'dyn-matmul.onnx'),
    }
    REDUCE_RANGE[0] = True
    sizes['qdq-u8s8-rr.onnx'] = save(qdq_model(net, ranges, False, 'qdq-u8s8-rr'), 'qdq-u8s8-rr.onnx')
    sizes['qop-cnn-rr.onnx'] = save(qop_model(net, ranges), 'qop-cnn-rr.onnx')
    sizes['dyn-matmul-rr.onnx'] = save(dyn_model(net), 'dyn-matmul-rr.onnx')
    meta = {'generator': 'tools/goldens/onnx_quantized.py', 'torch': '1.13.1+dfsg-4 (torch.__version__ ' + torch.__version__ + ')',
            'onnx': onnx.__version__ + ' (Debian python3-onnx 1.12.0-2+b4)', 'seed': 11, 'opset': 13, 'bytes': sizes,
            'activationRanges': ranges}
    with open(os.path.join(OUT, 'versions-quantized.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    print(json.dumps(meta, indent=1))


if __name__ == '__main__':
    main()
