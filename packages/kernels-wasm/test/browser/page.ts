// The browser page's script (bundled by test/browser.test.ts with esbuild): loads the wasm backend
// from its default URL, runs linear/conv/depthwise on every claimed engine, compares with kernels-js
// and publishes the outcome on window.__quint.
import { createJsBackend } from '@quint/kernels-js';
import type { QuantizedBackend, QTensor } from '@quint/qtensor';
import { createWasmBackend, hasWasmSimd } from '../../src/index.js';
import { activation, bias, rng, weight } from '../helpers.js';

interface Outcome {
  simd: boolean;
  checked: number;
  mismatches: string[];
  error?: string;
}

async function main(): Promise<Outcome> {
  const wasm = createWasmBackend();
  const js: QuantizedBackend = createJsBackend();
  await wasm.init();
  await js.init();
  const out: Outcome = { simd: hasWasmSimd(), checked: 0, mismatches: [] };
  const r = rng(2024);
  const check = (name: string, a: QTensor, b: QTensor): void => {
    out.checked += a.data.length;
    for (let i = 0; i < b.data.length; i++) {
      if (a.data[i] !== b.data[i]) {
        out.mismatches.push(`${name}[${i}]: ${a.data[i]} vs ${b.data[i]}`);
        return;
      }
    }
  };
  for (const engine of ['qnnpack', 'onednn', 'ort'] as const) {
    const sym = engine === 'onednn';
    const xl = activation(r, [5, 70]);
    const wl = weight(r, [37, 70], { perChannel: true, symmetric: sym });
    const bl = bias(r, 37, true);
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
    const xc = activation(r, [1, 6, 12, 11]);
    const wc = weight(r, [9, 6, 3, 3], { perChannel: true, symmetric: sym });
    const bc = bias(r, 9, true);
    const oc = { scale: 0.4, zeroPoint: 90 };
    const copts = { padding: 1, stride: [1, 2] as const };
    check(
      `conv/${engine}`,
      wasm.kernels.conv2d(xc, wasm.prepackConv2d(wc, bc, copts), oc, { engine }),
      js.kernels.conv2d(xc, js.prepackConv2d(wc, bc, copts), oc, { engine }),
    );
    const wd = weight(r, [6, 1, 3, 3], { perChannel: true, symmetric: sym });
    const dopts = { padding: 1, groups: 6 };
    check(
      `dw/${engine}`,
      wasm.kernels.conv2dRelu(xc, wasm.prepackConv2d(wd, null, dopts), oc, { engine }),
      js.kernels.conv2dRelu(xc, js.prepackConv2d(wd, null, dopts), oc, { engine }),
    );
  }
  wasm.dispose();
  js.dispose();
  return out;
}

const w = window as unknown as { __quint?: Outcome };
main().then(
  (o) => (w.__quint = o),
  (e: unknown) => (w.__quint = { simd: false, checked: 0, mismatches: [], error: String((e as Error)?.stack ?? e) }),
);
