#!/usr/bin/python3
"""ONNX models for comparing engine 'ort' of @quint/kernels-js with ONNX Runtime (issue 4).

Writes into packages/kernels-js/test/ort-models/ small QOperator models whose scales, zero points,
weights and int32 bias are all graph *inputs*, so one model serves any scale triple and weight the
test draws (spec onnx-ort-and-peers.md §1.3: ORT accepts weights as inputs):

  qlinearconv-<config>-<pc|pt>.onnx  QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B)
                             x uint8, w int8 (per tensor: scalar w_scale/w_zp; per channel: 1-D), B int32
  qlinearmatmul-<pc|pt>.onnx         QLinearMatMul(a uint8 [M, K], b int8 [K, N], per-column or per-tensor b)

  quantizelinear-<u8|s8>-<pt|pc>.onnx, dequantizelinear-…   QuantizeLinear / DequantizeLinear (axis 1)

Only the attributes (strides, pads, dilations, group) are fixed per model. Opset 13, built with
Debian's onnx 1.12 helper. Usage: /usr/bin/python3 tools/goldens/kernels_gemm_onnx.py
"""
import os
from onnx import TensorProto, helper, save, checker

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'packages', 'kernels-js', 'test',
                       'ort-models')

CONV_CONFIGS = {
    # name: attributes of QLinearConv
    'k3-s1-p1': dict(strides=[1, 1], pads=[1, 1, 1, 1], dilations=[1, 1], group=1),
    'k3-s2-d2': dict(strides=[2, 2], pads=[0, 0, 0, 0], dilations=[2, 2], group=1),
    'g2-p12': dict(strides=[1, 1], pads=[1, 2, 1, 2], dilations=[1, 1], group=2),
    'dw8-p1': dict(strides=[1, 1], pads=[1, 1, 1, 1], dilations=[1, 1], group=8),
    'k1-s1': dict(strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1),
}


def vi(name, elem, rank):
    # Symbolic dims: only the rank is fixed, so one model takes any shape of that rank.
    return helper.make_tensor_value_info(name, elem, [f'{name}_{i}' for i in range(rank)])


def write(model, name):
    checker.check_model(model)
    save(model, os.path.join(OUT_DIR, f'{name}.onnx'))


def model(name, node, inputs, out_rank):
    g = helper.make_graph([node], name, inputs, [vi('y', TensorProto.UINT8, out_rank)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)], producer_name='quint kernels_gemm_onnx.py')
    m.ir_version = 7
    return m


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    F, U8, I8, I32 = TensorProto.FLOAT, TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32
    for wrank, tag in [(1, 'pc'), (0, 'pt')]:
        conv_inputs = [vi('x', U8, 4), vi('x_scale', F, 0), vi('x_zp', U8, 0), vi('w', I8, 4), vi('w_scale', F, wrank),
                       vi('w_zp', I8, wrank), vi('y_scale', F, 0), vi('y_zp', U8, 0), vi('b', I32, 1)]
        for cname, attrs in CONV_CONFIGS.items():
            node = helper.make_node('QLinearConv', ['x', 'x_scale', 'x_zp', 'w', 'w_scale', 'w_zp', 'y_scale', 'y_zp', 'b'],
                                    ['y'], **attrs)
            write(model(f'qlinearconv-{cname}-{tag}', node, conv_inputs, 4), f'qlinearconv-{cname}-{tag}')
        # QLinearMatMul: b is [K, N]; a per-column b_scale/b_zp is 1-D of length N.
        mm_inputs = [vi('a', U8, 2), vi('a_scale', F, 0), vi('a_zp', U8, 0), vi('b', I8, 2), vi('b_scale', F, wrank),
                     vi('b_zp', I8, wrank), vi('y_scale', F, 0), vi('y_zp', U8, 0)]
        node = helper.make_node('QLinearMatMul', ['a', 'a_scale', 'a_zp', 'b', 'b_scale', 'b_zp', 'y_scale', 'y_zp'], ['y'])
        write(model(f'qlinearmatmul-{tag}', node, mm_inputs, 2), f'qlinearmatmul-{tag}')
    # QuantizeLinear / DequantizeLinear (opset 13): uint8 and int8 outputs, per tensor and per axis 1.
    for elem, dt in [(U8, 'u8'), (I8, 's8')]:
        for wrank, tag in [(1, 'pc'), (0, 'pt')]:
            extra = {'axis': 1} if wrank == 1 else {}
            node = helper.make_node('QuantizeLinear', ['x', 's', 'zp'], ['y'], **extra)
            g = helper.make_graph([node], 'q', [vi('x', F, 2), vi('s', F, wrank), vi('zp', elem, wrank)], [vi('y', elem, 2)])
            m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)], producer_name='quint kernels_gemm_onnx.py')
            m.ir_version = 7
            write(m, f'quantizelinear-{dt}-{tag}')
            node = helper.make_node('DequantizeLinear', ['x', 's', 'zp'], ['y'], **extra)
            g = helper.make_graph([node], 'dq', [vi('x', elem, 2), vi('s', F, wrank), vi('zp', elem, wrank)], [vi('y', F, 2)])
            m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)], producer_name='quint kernels_gemm_onnx.py')
            m.ir_version = 7
            write(m, f'dequantizelinear-{dt}-{tag}')
    print(f'{OUT_DIR}: QLinearConv x{len(CONV_CONFIGS)} and QLinearMatMul models written')


if __name__ == '__main__':
    main()
