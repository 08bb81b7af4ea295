import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import {
  getDefaultQConfig,
  getDefaultQConfigMapping,
  type ObserverFactory,
  type QConfigAny,
  type QConfigBackend,
} from '../src/index.js';
import { loadGolden, toOptions } from './golden-utils.js';

interface CtorRec {
  class: string;
  args: Record<string, unknown>;
}
interface QRec {
  activation: CtorRec | null;
  weight: CtorRec | null;
}
const golden = loadGolden<{
  meta: { torchPackage: string };
  mappings: Record<string, { global: QRec; objectType: [string, string, QRec][] }>;
  presets: Record<string, QRec | Record<string, QRec>>;
  observerPartials: Record<string, CtorRec>;
}>('qconfig-mappings.json');

/** Our factory in PyTorch's terms: class name and snake_case→camelCase arguments. */
function ours(f: ObserverFactory): { class: string; args: Record<string, unknown> } {
  return { class: f.observerClass.name, args: { ...f.args } };
}
function theirs(c: CtorRec): { class: string; args: Record<string, unknown> } {
  return { class: c.class, args: toOptions(c.args) };
}
const oursQ = (q: QConfigAny) => (q === null ? null : { activation: ours(q.activation), weight: ours(q.weight) });
const theirsQ = (q: QRec | null) =>
  q === null ? null : { activation: theirs(q.activation!), weight: theirs(q.weight!) };

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

describe(`qconfig presets vs PyTorch ${golden.meta.torchPackage}`, () => {
  for (const backend of ['fbgemm', 'qnnpack', 'x86', 'onednn'] as const) {
    it(`getDefaultQConfigMapping('${backend}') has 1.13's global and object-type entries, in order`, () => {
      const want = golden.mappings[backend]!;
      const m = getDefaultQConfigMapping(backend);
      expect(oursQ(m.globalQConfig)).toEqual(theirsQ(want.global));
      // PyTorch keys some entries by two callables of one name (F.relu, torch.relu): same qconfig.
      const byName = new Map<string, ReturnType<typeof theirsQ>>();
      for (const [name, , q] of want.objectType) {
        const prev = byName.get(name);
        if (prev !== undefined) expect(prev).toEqual(theirsQ(q));
        else byName.set(name, theirsQ(q));
      }
      expect([...m.objectTypeQConfigs.keys()]).toEqual([...byName.keys()]);
      for (const [name, q] of m.objectTypeQConfigs) expect(oursQ(q), name).toEqual(byName.get(name));
    });

    it(`getDefaultQConfig('${backend}') matches 1.13`, () => {
      const want = (golden.presets['getDefaultQConfig'] as Record<string, QRec>)[backend]!;
      expect(oursQ(getDefaultQConfig(backend))).toEqual(theirsQ(want));
    });
  }

  const named: Record<string, string> = {
    defaultQConfig: 'defaultQConfig',
    defaultDebugQConfig: 'defaultDebugQConfig',
    defaultPerChannelQConfig: 'defaultPerChannelQConfig',
    defaultDynamicQConfig: 'defaultDynamicQConfig',
    perChannelDynamicQConfig: 'perChannelDynamicQConfig',
    float16DynamicQConfig: 'float16DynamicQConfig',
    float16StaticQConfig: 'float16StaticQConfig',
    floatQparamsWeightOnlyQConfig: 'floatQparamsWeightOnlyQConfig',
    defaultReuseInputQConfig: 'defaultReuseInputQConfig',
    defaultSymmetricQnnpackQConfig: 'defaultSymmetricQnnpackQConfig',
    defaultPerChannelSymmetricQnnpackQConfig: 'defaultPerChannelSymmetricQnnpackQConfig',
  };
  for (const [ts, py] of Object.entries(named)) {
    it(`${ts} matches 1.13`, () => {
      expect(oursQ((api as unknown as Record<string, QConfigAny>)[ts]!)).toEqual(theirsQ(golden.presets[py] as QRec));
    });
  }

  it('the predefined observer factories match 1.13 (names camelCased)', () => {
    for (const [py, rec] of Object.entries(golden.observerPartials)) {
      const name = camel(py)
        .replace('Qparams', py.includes('fixed_qparams') ? 'QParams' : 'Qparams')
        .replace('127To127', '127To127');
      const f = (api as unknown as Record<string, ObserverFactory>)[name];
      expect(f, name).toBeDefined();
      expect(ours(f!), name).toEqual(theirs(rec));
    }
  });

  it("torchCompat '1.13' only adds the compat flag to the histogram activation", () => {
    for (const b of ['fbgemm', 'qnnpack'] as QConfigBackend[]) {
      const q = getDefaultQConfig(b, { torchCompat: '1.13' });
      const { torchCompat, ...rest } = q.activation.args as Record<string, unknown>;
      expect(torchCompat).toBe('1.13');
      expect(rest).toEqual(getDefaultQConfig(b).activation.args);
      expect((q.activation.create() as api.HistogramObserver).torchCompat).toBe('1.13');
    }
  });
});
