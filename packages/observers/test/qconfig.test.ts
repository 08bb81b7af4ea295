import { describe, expect, it } from 'vitest';
import { isQuantError } from '@quint/tensor';
import {
  HistogramObserver,
  MinMaxObserver,
  NoopObserver,
  QConfig,
  QConfigMapping,
  defaultPerChannelQConfig,
  defaultQConfig,
  defaultWeightObserver,
  getDefaultQConfig,
  getDefaultQConfigMapping,
  isObserverFactory,
  isReuseInputQConfig,
  defaultReuseInputQConfig,
  qconfigEquals,
  type QConfigAny,
  type QConfigBackend,
} from '../src/index.js';
import { loadGolden } from './golden-utils.js';

const golden = loadGolden<{
  precedence: {
    queries: Array<{
      kind: string;
      moduleName?: string;
      objectType?: string;
      index: number;
      fn?: string;
      scope?: string;
      scopeType?: string;
      expect: string | null;
    }>;
  };
}>('qconfig-mappings.json');

function thrown(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isQuantError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('did not throw');
}

describe('withArgs factories and QConfig', () => {
  it('a factory makes a fresh observer each time, with its arguments; withArgs chains', () => {
    const f = MinMaxObserver.withArgs({ dtype: 'qint8', qscheme: 'per_tensor_symmetric' });
    const a = f.create();
    const b = f.create();
    expect(a).not.toBe(b);
    expect(a).toBeInstanceOf(MinMaxObserver);
    expect([a.dtype, a.qscheme, a.quantMin, a.quantMax]).toEqual(['qint8', 'per_tensor_symmetric', -128, 127]);
    const g = f.withArgs({ quantMin: -127, quantMax: 127 });
    expect(g.create().quantMin).toBe(-127);
    expect(f.create().quantMin).toBe(-128);
    expect(isObserverFactory(f)).toBe(true);
    expect(isObserverFactory(a)).toBe(false);
    expect(String(f)).toBe('MinMaxObserver.withArgs({"dtype":"qint8","qscheme":"per_tensor_symmetric"})');
  });

  it("rejects an observer instance with PyTorch's message", () => {
    const e = thrown(() => new QConfig({ activation: new MinMaxObserver() as never, weight: defaultWeightObserver }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(
      'QConfig received observer instance (activation: MinMaxObserver), please pass observer class instead. Use MinMaxObserver.withArgs({ x: 1 }) to override arguments to constructor if needed.',
    );
    expect(thrown(() => new QConfig({ activation: MinMaxObserver, weight: 42 as never })).code).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('accepts a bare class as Class.withArgs({})', () => {
    const q = new QConfig({ activation: HistogramObserver, weight: NoopObserver });
    expect(q.activation.create()).toBeInstanceOf(HistogramObserver);
    expect(
      qconfigEquals(q, new QConfig({ activation: HistogramObserver.withArgs({}), weight: NoopObserver.withArgs({}) })),
    ).toBe(true);
  });

  it('qconfigEquals compares classes and arguments', () => {
    for (const b of ['fbgemm', 'qnnpack', 'x86', 'onednn'] as QConfigBackend[])
      expect(qconfigEquals(getDefaultQConfig(b), getDefaultQConfig(b))).toBe(true);
    expect(qconfigEquals(getDefaultQConfig('fbgemm'), getDefaultQConfig('qnnpack'))).toBe(false);
    expect(qconfigEquals(getDefaultQConfig('fbgemm'), getDefaultQConfig('x86'))).toBe(true);
    expect(qconfigEquals(defaultQConfig, defaultPerChannelQConfig)).toBe(false);
    expect(qconfigEquals(null, null)).toBe(true);
    expect(qconfigEquals(defaultQConfig, null)).toBe(false);
    expect(isReuseInputQConfig(defaultReuseInputQConfig)).toBe(true);
    expect(isReuseInputQConfig(defaultQConfig)).toBe(false);
  });

  it('unknown backends and versions are errors', () => {
    expect(thrown(() => getDefaultQConfig('tensorrt' as QConfigBackend)).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => getDefaultQConfigMapping('qnnpack', { version: 1 as 0 })).code).toBe('INVALID_ARGUMENT');
  });

  it('the default mapping resolves fixed-qparams ops to their fixed observers', () => {
    const m = getDefaultQConfigMapping('qnnpack');
    const sig = m.qconfigForModule('s', 'Sigmoid')!.activation.create().calculateQparams();
    expect([sig.scale[0], sig.zeroPoint[0]]).toEqual([1 / 256, 0]);
    const tanh = m
      .qconfigForFunction('tanh', { moduleName: '', moduleType: 'Net' })!
      .activation.create()
      .calculateQparams();
    expect([tanh.scale[0], tanh.zeroPoint[0]]).toEqual([2 / 256, 128]);
    expect(isReuseInputQConfig(m.qconfigForMethod('reshape', { moduleName: '', moduleType: 'Net' }))).toBe(true);
  });
});

describe('QConfigMapping precedence matches PyTorch 1.13 (queries run through 1.13 by tools/goldens/observers.py)', () => {
  const q = (eps: number) =>
    new QConfig({ activation: MinMaxObserver.withArgs({ eps }), weight: defaultWeightObserver });
  const labels: Record<string, QConfigAny> = { A: q(1), B: q(2), C: q(3), C2: q(3.5), D: q(4), E: q(5), F: q(6) };
  class Linear {}
  const m = new QConfigMapping()
    .setGlobal(labels['A']!)
    .setObjectType(Linear, labels['B']!)
    .setObjectType('add', labels['F']!)
    .setModuleNameRegex('foo.*conv', labels['C']!)
    .setModuleNameRegex('foo.*', labels['C2']!)
    .setModuleName('foo.bar', labels['D']!)
    .setModuleName('baz', null)
    .setModuleNameObjectTypeOrder({ moduleName: 'foo', objectType: 'Linear', index: 1 }, labels['E']!)
    .setModuleNameObjectTypeOrder({ moduleName: 'blk', objectType: 'add', index: 0 }, labels['E']!);
  const label = (got: QConfigAny) => (got === null ? null : Object.keys(labels).find((k) => labels[k] === got));

  for (const c of golden.precedence.queries) {
    const desc =
      c.kind === 'module'
        ? `module ${c.moduleName} (${c.objectType}, #${c.index})`
        : `${c.fn} in '${c.scope}' (#${c.index})`;
    it(`${desc} → ${c.expect}`, () => {
      const got =
        c.kind === 'module'
          ? m.qconfigForModule(c.moduleName!, c.objectType!, c.index)
          : m.qconfigForFunction(c.fn!, { moduleName: c.scope!, moduleType: c.scopeType! }, c.index);
      expect(label(got)).toBe(c.expect);
    });
  }

  it('round-trips through toDict/fromDict', () => {
    const back = QConfigMapping.fromDict(m.toDict());
    expect(back.toDict()).toEqual(m.toDict());
    expect(label(back.qconfigForModule('foo.lin', 'Linear', 1))).toBe('E');
  });

  it('rejects a bad regex and a bad index', () => {
    expect(thrown(() => new QConfigMapping().setModuleNameRegex('(', null)).code).toBe('INVALID_ARGUMENT');
    expect(
      thrown(() =>
        new QConfigMapping().setModuleNameObjectTypeOrder({ moduleName: '', objectType: 'add', index: -1 }, null),
      ).code,
    ).toBe('INVALID_ARGUMENT');
  });
});
