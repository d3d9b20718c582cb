// Real data: the CDNOW master file and its 1/10th sample through mappings/cdnow*.yaml. Figures from
// ../shared/datasets/cdnow/SOURCE.md.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeInputs } from '../../src/dataset/compute-inputs.js';
import { importTransactions } from '../../src/dataset/import/import-transactions.js';
import { readMapping } from '../../src/dataset/import/mapping.js';
import { loadDataset } from '../../src/dataset/load-dataset.js';
import { retailModel, tempDir } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

function run(name: string) {
  const { mapping, diagnostics } = readMapping(path.join(ROOT, `mappings/${name}.yaml`));
  expect(diagnostics).toEqual([]);
  const out = tempDir(`herald-${name}-`);
  const report = importTransactions(mapping!, out);
  const loaded = loadDataset(out, retailModel, { strict: true });
  expect(loaded.diagnostics).toEqual([]);
  return { report, ds: loaded.dataset! };
}

describe('CDNOW', () => {
  it('master: one purchase per row', () => {
    const { report, ds } = run('cdnow');
    expect(report).toMatchObject({
      rows: 69_659,
      skipped: {},
      unparsable: 0,
      customers: 23_570,
      events: 69_659,
      revenue: 2_500_315.63,
      first: '1997-01-01T00:00:00Z',
      last: '1998-06-30T00:00:00Z',
    });
    expect(ds.customerCount).toBe(23_570);
    expect(ds.eventCount).toBe(69_659);
    const count = { kind: 'aggregate', key: 'n', fn: 'count', event: 'purchase' } as const;
    const t = computeInputs(ds, [count], Date.UTC(1998, 6, 1));
    let repeat = 0;
    for (let i = 0; i < ds.customerCount; i++) if ((t.value('n', i) as number) > 1) repeat++;
    expect(repeat).toBe(11_662);
    expect(ds.recentEvents(ds.customerIndex('00002'), 'purchase', 9).map((e) => e.props.amount)).toEqual([77, 12]);
  });

  it('sample: headerless, five columns, 2,357 customers', () => {
    const { report } = run('cdnow-sample');
    expect(report).toMatchObject({ rows: 6_919, customers: 2_357, events: 6_919 });
  });
});
