// The comparisons the browser test runs in the page (one thread) and in a worker (threads): the wasm
// backend against kernels-js on linear, GEMV, conv and depthwise, on every engine both claim.
import type { QTensor, QuantizedBackend } from '@quint/qtensor';
import { hasWasmSimd } from '../../src/index.js';
import { activation, bias, rng, weight } from '../helpers.js';

/** What one run of the checks found. */
export interface Outcome {
  simd: boolean;
  checked: number;
  mismatches: string[];
  error?: string;
}

/** Operand shapes: `small` ones run on one lane; `threaded` ones are ≥ 2 M MACs, so 2 lanes split them. */
const SIZES = {
  small: { linear: [5, 70, 37], conv: [1, 6, 12, 11, 9], dw: [1, 6, 12, 11] },
  threaded: { linear: [64, 256, 160], conv: [2, 16, 24, 23, 32], dw: [2, 64, 48, 45] },
} as const;

/** Runs every check of `size` on `wasm` and `js`; the first differing code of each is reported. */
export function compareWithJs(wasm: QuantizedBackend, js: QuantizedBackend, size: keyof typeof SIZES): Outcome {
  const out: Outcome = { simd: hasWasmSimd(), checked: 0, mismatches: [] };
  const r = rng(size === 'small' ? 2024 : 2025);
  const check = (name: string, a: QTensor, b: QTensor): void => {
    out.checked += a.data.length;
    for (let i = 0; i < b.data.length; i++) {
      if (a.data[i] !== b.data[i]) {
        out.mismatches.push(`${name}[${i}]: ${a.data[i]} vs ${b.data[i]}`);
        return;
      }
    }
  };
  const s = SIZES[size];
  for (const engine of ['qnnpack', 'onednn', 'ort'] as const) {
    const sym = engine === 'onednn';
    const [m, k, n] = s.linear;
    const xl = activation(r, [m, k]);
    const wl = weight(r, [n, k], { perChannel: true, symmetric: sym });
    const bl = bias(r, n, true);
    const ol = { scale: 0.3, zeroPoint: 100 };
    check(
      `linear/${engine}`,
      wasm.kernels.linear(xl, wasm.prepackLinear(wl, bl), ol, { engine }),
      js.kernels.linear(xl, js.prepackLinear(wl, bl), ol, { engine }),
    );
    const xv = activation(r, [1, 300]);
    const wv = weight(r, [50, 300], { perChannel: false, symmetric: sym });
    check(
      `gemv/${engine}`,
      wasm.kernels.linearRelu(xv, wasm.prepackLinear(wv, null), ol, { engine }),
      js.kernels.linearRelu(xv, js.prepackLinear(wv, null), ol, { engine }),
    );
    const [cn, cc, ch, cw, coc] = s.conv;
    const xc = activation(r, [cn, cc, ch, cw]);
    const wc = weight(r, [coc, cc, 3, 3], { perChannel: true, symmetric: sym });
    const bc = bias(r, coc, true);
    const oc = { scale: 0.4, zeroPoint: 90 };
    const copts = { padding: 1, stride: [1, 2] as const };
    check(
      `conv/${engine}`,
      wasm.kernels.conv2d(xc, wasm.prepackConv2d(wc, bc, copts), oc, { engine }),
      js.kernels.conv2d(xc, js.prepackConv2d(wc, bc, copts), oc, { engine }),
    );
    const [dn, dc, dh, dwid] = s.dw;
    const xd = activation(r, [dn, dc, dh, dwid]);
    const wd = weight(r, [dc, 1, 3, 3], { perChannel: true, symmetric: sym });
    const dopts = { padding: 1, groups: dc };
    check(
      `dw/${engine}`,
      wasm.kernels.conv2dRelu(xd, wasm.prepackConv2d(wd, null, dopts), oc, { engine }),
      js.kernels.conv2dRelu(xd, js.prepackConv2d(wd, null, dopts), oc, { engine }),
    );
    if (size === 'threaded') {
      // Far more output channels than pixels: the conv is cut into output-channel ranges instead.
      const xr = activation(r, [1, 64, 4, 4]);
      const wr = weight(r, [256, 64, 3, 3], { perChannel: true, symmetric: sym });
      check(
        `conv-by-rows/${engine}`,
        wasm.kernels.conv2d(xr, wasm.prepackConv2d(wr, null, { padding: 1 }), oc, { engine }),
        js.kernels.conv2d(xr, js.prepackConv2d(wr, null, { padding: 1 }), oc, { engine }),
      );
    }
  }
  return out;
}
