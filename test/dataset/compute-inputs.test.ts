// Aggregates against a naive reference loop over plain event objects (fast-check over random small
// datasets and specs), plus RFM (tie rule, segments), LTV and the CLV hook.
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeInputs } from '../../src/dataset/compute-inputs.js';
import { loadDataset } from '../../src/dataset/load-dataset.js';
import { RFM_GRID, quintileScores, rfmSegmentName } from '../../src/analytics/rfm.js';
import type { DataModel } from '../../src/model/data-model.js';
import type { AggregateFn, AggregateInput, EventPredicate, InputSpec } from '../../src/model/inputs.js';
import { DAY, events, fields, tempDir } from './helpers.js';

const model: DataModel = {
  customerId: 'id',
  attributes: fields({ name: 'string' }),
  events: events({
    a: { x: 'number', s: 'string', l: 'list<string>' },
    b: { x: 'number', flag: 'bool' },
  }),
  rfm: { windowMs: 10 * DAY, monetary: { event: 'a', prop: 'x' } },
};

interface Ev {
  customer: number;
  type: 'a' | 'b';
  ts: number;
  props: Record<string, unknown>;
}

const T0 = Date.UTC(2026, 0, 1);

const evArb = (customers: number) =>
  fc.record({
    customer: fc.nat({ max: customers - 1 }),
    type: fc.constantFrom<'a' | 'b'>('a', 'b'),
    // a coarse grid of times so that ties and window edges are common
    ts: fc.nat({ max: 40 }).map((d) => T0 + d * (DAY / 2)),
    x: fc.option(fc.integer({ min: -5, max: 50 }), { nil: undefined }),
    s: fc.option(fc.constantFrom('p', 'q', 'r', 's'), { nil: undefined }),
    l: fc.option(fc.array(fc.constantFrom('p', 'q', 'r', 'u'), { maxLength: 3 }), { nil: undefined }),
    flag: fc.option(fc.boolean(), { nil: undefined }),
  }).map((e): Ev => ({
    customer: e.customer,
    type: e.type,
    ts: e.ts,
    props: e.type === 'a' ? clean({ x: e.x, s: e.s, l: e.l }) : clean({ x: e.x, flag: e.flag }),
  }));

function clean(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

const PREDICATES: Record<string, EventPredicate> = {
  'x > 10': { canonical: 'x > 10', props: ['x'], test: (p) => typeof p.x === 'number' && p.x > 10 },
  's in [p,q]': { canonical: 's in [p,q]', props: ['s'], test: (p) => p.s === 'p' || p.s === 'q' },
  'flag': { canonical: 'flag', props: ['flag'], test: (p) => p.flag === true },
  'l has u': { canonical: 'l has u', props: ['l'], test: (p) => Array.isArray(p.l) && p.l.includes('u') },
};

const specArb: fc.Arbitrary<AggregateInput> = fc
  .record({
    fn: fc.constantFrom<AggregateFn>('count', 'sum', 'avg', 'min', 'max', 'distinct', 'first', 'last'),
    event: fc.constantFrom('a', 'b'),
    within: fc.option(fc.constantFrom(DAY, 3 * DAY, 7 * DAY, 30 * DAY), { nil: undefined }),
    where: fc.option(fc.constantFrom(...Object.keys(PREDICATES)), { nil: undefined }),
    distinctProp: fc.constantFrom('x', 's', 'l', 'flag'),
  })
  .map((r) => {
    const where = r.where && (r.event === 'a' ? r.where !== 'flag' : r.where === 'x > 10' || r.where === 'flag') ? PREDICATES[r.where] : undefined;
    let prop: string | undefined;
    if (r.fn === 'sum' || r.fn === 'avg' || r.fn === 'min' || r.fn === 'max') prop = 'x';
    if (r.fn === 'distinct') prop = r.event === 'a' ? (['x', 's', 'l'].includes(r.distinctProp) ? r.distinctProp : 's') : r.distinctProp === 'flag' ? 'flag' : 'x';
    const key = `${r.fn}(${r.event}${prop ? `.${prop}` : ''},${r.within ?? '-'},${where?.canonical ?? '-'})`;
    return { kind: 'aggregate', key, fn: r.fn, event: r.event, prop, withinMs: r.within, where } as AggregateInput;
  });

/** The obvious implementation of one aggregate for one customer (DESIGN §4.2, model/inputs.ts). */
function reference(evs: Ev[], customer: number, spec: AggregateInput, now: number): number | null {
  const start = spec.withinMs === undefined ? -Infinity : now - spec.withinMs;
  const seen = evs.filter(
    (e) => e.customer === customer && e.type === spec.event && e.ts <= now && e.ts > start && (!spec.where || spec.where.test({ ...Object.fromEntries(spec.where.props.map((p) => [p, null])), ...e.props })),
  );
  const values = spec.prop ? seen.map((e) => e.props[spec.prop!]).filter((v) => v !== undefined && v !== null) : [];
  const nums = values as number[];
  switch (spec.fn) {
    case 'count':
      return seen.length;
    case 'sum':
      return nums.reduce((a, b) => a + b, 0);
    case 'avg':
      return nums.length ? nums.reduce((a, b) => a + b, 0) / nums.length : null;
    case 'min':
      return nums.length ? Math.min(...nums) : null;
    case 'max':
      return nums.length ? Math.max(...nums) : null;
    case 'distinct':
      return new Set(values.flatMap((v) => (Array.isArray(v) ? v : [v]))).size;
    case 'first':
      return seen.length ? Math.min(...seen.map((e) => e.ts)) : null;
    case 'last':
      return seen.length ? Math.max(...seen.map((e) => e.ts)) : null;
  }
}

function writeDataset(customers: number, evs: Ev[], format: 'csv' | 'ndjson'): string {
  const dir = tempDir();
  const sorted = [...evs].sort((x, y) => x.ts - y.ts);
  if (format === 'csv') {
    writeFileSync(path.join(dir, 'customers.csv'), `id,name\n${Array.from({ length: customers }, (_, i) => `u${i},n${i}`).join('\n')}\n`);
    const rows = sorted.map((e) => `u${e.customer},${e.type},${new Date(e.ts).toISOString()},"${JSON.stringify(e.props).replace(/"/g, '""')}"`);
    writeFileSync(path.join(dir, 'events.csv'), `customer_id,type,ts,props\n${rows.join('\n')}\n`);
  } else {
    writeFileSync(path.join(dir, 'customers.ndjson'), Array.from({ length: customers }, (_, i) => JSON.stringify({ id: `u${i}` })).join('\n'));
    writeFileSync(path.join(dir, 'events.ndjson'), sorted.map((e) => JSON.stringify({ customer_id: `u${e.customer}`, type: e.type, ts: e.ts, props: e.props })).join('\n'));
  }
  return dir;
}

describe('computeInputs: aggregates agree with a naive loop', () => {
  it('random datasets, specs, windows and where-predicates', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }).chain((n) =>
          fc.record({
            customers: fc.constant(n),
            evs: fc.array(evArb(n), { maxLength: 40 }),
            specs: fc.array(specArb, { minLength: 1, maxLength: 6 }),
            now: fc.nat({ max: 44 }).map((d) => T0 + d * (DAY / 2)),
            format: fc.constantFrom<'csv' | 'ndjson'>('csv', 'ndjson'),
          }),
        ),
        ({ customers, evs, specs, now, format }) => {
          const r = loadDataset(writeDataset(customers, evs, format), model, { strict: true });
          expect(r.diagnostics).toEqual([]);
          const table = computeInputs(r.dataset!, specs, now);
          for (const spec of specs) {
            for (let i = 0; i < customers; i++) {
              expect(table.value(spec.key, i), `${spec.key} for u${i}`).toBe(reference(evs, i, spec, now));
            }
          }
        },
      ),
      { numRuns: 120 },
    );
  });

  it('dedupes specs by key and binds an expression order', () => {
    const r = loadDataset(writeDataset(2, [{ customer: 1, type: 'a', ts: T0, props: { x: 4 } }], 'csv'), model);
    const count: InputSpec = { kind: 'aggregate', key: 'count(a)', fn: 'count', event: 'a' };
    const sum: InputSpec = { kind: 'aggregate', key: 'sum(a.x)', fn: 'sum', event: 'a', prop: 'x' };
    const t = computeInputs(r.dataset!, [count, sum, { ...count }], T0 + DAY);
    expect(t.specs.map((s) => s.key)).toEqual(['count(a)', 'sum(a.x)']);
    const fill = t.bind([sum, count]);
    expect(fill(1, [])).toEqual([4, 1]);
    expect(fill(0, [])).toEqual([0, 0]);
    expect(() => t.bind([{ kind: 'ltv', key: 'ltv' }])).toThrow(/not computed/);
  });

  it('events after now are invisible', () => {
    const r = loadDataset(writeDataset(1, [{ customer: 0, type: 'a', ts: T0, props: { x: 1 } }, { customer: 0, type: 'a', ts: T0 + 2 * DAY, props: { x: 2 } }], 'csv'), model);
    const last: InputSpec = { kind: 'aggregate', key: 'last(a)', fn: 'last', event: 'a' };
    expect(computeInputs(r.dataset!, [last], T0 + DAY).value('last(a)', 0)).toBe(T0);
    expect(computeInputs(r.dataset!, [last], T0 - 1).value('last(a)', 0)).toBe(null);
    // window (now - 1d, now]: an event exactly at now - 1d is outside, one exactly at now inside
    const w: InputSpec = { kind: 'aggregate', key: 'count(a,1d)', fn: 'count', event: 'a', withinMs: DAY };
    expect(computeInputs(r.dataset!, [w], T0 + DAY).value(w.key, 0)).toBe(0);
    expect(computeInputs(r.dataset!, [w], T0 + 2 * DAY).value(w.key, 0)).toBe(1);
  });
});

describe('RFM', () => {
  it('quintile scores: ties share the lowest score their rank allows (1 + floor(5·worse/N))', () => {
    const f = Float64Array.from([1, 1, 1, 1, 1, 1, 2, 2, 3, 5, NaN]);
    expect([...quintileScores(f, 10)]).toEqual([1, 1, 1, 1, 1, 1, 4, 4, 5, 5, 0]);
    const m = Float64Array.from([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect([...quintileScores(m, 10)]).toEqual([5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
    expect([...quintileScores(Float64Array.from([7, 7, 7]), 3)]).toEqual([1, 1, 1]);
  });

  it('matches a naive rank computation on random values', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: 0, max: 8 }), { nil: null }), { maxLength: 60 }), (vals) => {
        const arr = Float64Array.from(vals, (v) => (v === null ? NaN : v));
        const pop = vals.filter((v) => v !== null) as number[];
        const got = quintileScores(arr, pop.length);
        vals.forEach((v, i) => {
          expect(got[i]).toBe(v === null ? 0 : 1 + Math.floor((5 * pop.filter((w) => w < v).length) / pop.length));
        });
      }),
    );
  });

  it('scores, score and segment per customer; nulls outside the window; LTV over all history', () => {
    // 10 customers u0..u9: u_i buys i+1 times (amount 10 each) in the window, last purchase i days before now;
    // u9 bought long ago only (outside the 10-day window).
    const now = T0 + 100 * DAY;
    const evs: Ev[] = [];
    for (let i = 0; i < 9; i++) {
      for (let k = 0; k <= i; k++) evs.push({ customer: i, type: 'a', ts: now - (i + 0.5) * DAY + k, props: { x: 10 } });
    }
    evs.push({ customer: 9, type: 'a', ts: T0, props: { x: 1000 } });
    const ds = loadDataset(writeDataset(10, evs, 'csv'), model, { strict: true }).dataset!;
    const specs: InputSpec[] = (['r', 'f', 'm', 'score', 'segment'] as const).map((field) => ({ kind: 'rfm', key: `rfm.${field}`, field }));
    specs.push({ kind: 'ltv', key: 'ltv' });
    const t = computeInputs(ds, specs, now);
    // 9 scored: recency best for u0; frequency and monetary best for u8
    const r = [5, 4, 4, 3, 3, 2, 2, 1, 1];
    const f = [1, 1, 2, 2, 3, 3, 4, 4, 5];
    for (let i = 0; i < 9; i++) {
      expect(t.value('rfm.r', i)).toBe(r[i]);
      expect(t.value('rfm.f', i)).toBe(f[i]);
      expect(t.value('rfm.m', i)).toBe(f[i]);
      expect(t.value('rfm.score', i)).toBe(100 * r[i] + 10 * f[i] + f[i]);
      expect(t.value('rfm.segment', i)).toBe(rfmSegmentName(r[i], f[i]));
      expect(t.value('ltv', i)).toBe(10 * (i + 1));
    }
    for (const s of specs.slice(0, 5)) expect(t.value(s.key, 9)).toBe(null);
    expect(t.value('ltv', 9)).toBe(1000);
    expect(t.rfm?.scored).toBe(9);
  });

  it('the segment grid names every cell with one of the 11 segments', () => {
    expect(RFM_GRID).toHaveLength(5);
    expect(new Set(RFM_GRID.flat()).size).toBe(11);
    expect(rfmSegmentName(5, 5)).toBe('champions');
    expect(rfmSegmentName(1, 1)).toBe('lost');
    expect(rfmSegmentName(1, 5)).toBe('cant_lose');
    expect(rfmSegmentName(5, 1)).toBe('new');
  });

  it('CLV inputs come from the provider, else null', () => {
    const ds = loadDataset(writeDataset(2, [], 'csv'), model).dataset!;
    const spec: InputSpec = { kind: 'clv', key: 'clv.p_alive', fn: 'p_alive' };
    expect(computeInputs(ds, [spec], T0).value(spec.key, 1)).toBe(null);
    const t = computeInputs(ds, [spec], T0, { clvProvider: (s) => (s.fn === 'p_alive' ? Float64Array.from([0.5, NaN]) : undefined) });
    expect([t.value(spec.key, 0), t.value(spec.key, 1)]).toEqual([0.5, null]);
  });
});
