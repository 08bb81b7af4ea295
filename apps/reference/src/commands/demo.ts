import type { Command } from 'commander';
import { Generator, randn } from '@quint/tensor';
import { calculateQparams, quantizePerTensor } from '@quint/qtensor';

/** `quint demo`: the main job. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the main job: quantize a tensor and show the integers it really holds')
    .action(() => {
      const x = randn([2, 8], new Generator(0));
      const min = Math.min(...x.toArray());
      const max = Math.max(...x.toArray());
      const { scales, zeroPoints } = calculateQparams([min], [max], {
        dtype: 'quint8',
        qscheme: 'per_tensor_affine',
        quantMin: 0,
        quantMax: 255,
      });
      const q = quantizePerTensor(x, scales[0]!, zeroPoints[0]!, 'quint8');
      const out = process.stdout;
      out.write('float32 input (2×8):\n');
      out.write(`  ${x.toArray().map((v) => v.toFixed(4)).join(' ')}\n`);
      out.write(`quantized: dtype=quint8 scale=${q.qScale()} zero_point=${q.qZeroPoint()}\n`);
      out.write(`intRepr(): ${Array.from(q.intRepr()).join(' ')}\n`);
      out.write(`dequantized: ${q.dequantize().toArray().map((v) => v.toFixed(4)).join(' ')}\n`);
      out.write(`bytes: float32 ${x.numel * 4}, int8 codes ${q.nbytes} (+ 8 for scale and zero point)\n`);
    });
}
