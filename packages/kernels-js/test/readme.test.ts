// The README's op × engine table is derived from OP_NAMES: this test regenerates it and compares.
import { readFileSync } from 'node:fs';
import { ENGINES, OP_NAMES, opNames } from '@quint/qtensor';
import { expect, test } from 'vitest';

test('README op × engine table equals OP_NAMES', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const table = readme.split('<!-- ops-table:start -->\n')[1]!.split('<!-- ops-table:end -->')[0]!.trim();
  const rows = opNames().map((op) => {
    const claimed: readonly string[] = OP_NAMES[op].engines;
    return `| \`${op}\` | ${ENGINES.map((e) => (claimed.includes(e) ? '✓' : '–')).join(' | ')} | ${OP_NAMES[op].torchOp} |`;
  });
  expect(table).toBe(
    ['| op | qnnpack | onednn | ort | fbgemm | PyTorch |', '|---|---|---|---|---|---|', ...rows].join('\n'),
  );
});
