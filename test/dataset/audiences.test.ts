import { describe, expect, it } from 'vitest';
import { computeAudiences, orderSegments } from '../../src/dataset/audiences.js';
import { loadDataset } from '../../src/dataset/load-dataset.js';
import { maskEmail, maskPhone } from '../../src/dataset/mask.js';
import { buildSegmentReport, groupDigits, renderSegmentReportJson, renderSegmentReportText } from '../../src/dataset/segment-report.js';
import type { InputSpec } from '../../src/model/inputs.js';
import { demoModel } from '../support/demo-model.js';
import { fakeExpression } from './fake-expression.js';
import { DAY, datasetDir } from './helpers.js';

const T0 = Date.UTC(2026, 0, 1);
const iso = (d: number) => new Date(T0 + d * DAY).toISOString();

function shop() {
  const customers = ['id,email,phone,first_name,email_opt_in', 'c1,anna.schmidt@example.com,+4915112345678,Anna,true', 'c2,bob@example.org,,Bob,false', 'c3,,+15550001111,Cem,true', 'c4,dora@example.com,,Dora,true'];
  const ev = (c: string, d: number, amount: number) => `${c},purchase,${iso(d)},"{""amount"":${amount}}"`;
  const rows = [ev('c1', 1, 10), ev('c2', 2, 50), ev('c1', 3, 10), ev('c3', 4, 5), ev('c1', 5, 10), ev('c2', 30, 70)];
  return loadDataset(datasetDir({ 'customers.csv': customers.join('\n'), 'events.csv': `customer_id,type,ts,props\n${rows.join('\n')}\n` }), demoModel).dataset!;
}

const count: InputSpec = { kind: 'aggregate', key: 'count(purchase)', fn: 'count', event: 'purchase' };
const sum: InputSpec = { kind: 'aggregate', key: 'sum(purchase.amount)', fn: 'sum', event: 'purchase', prop: 'amount' };

describe('masking', () => {
  it('masks emails and phones', () => {
    expect(maskEmail('anna.schmidt@example.com')).toBe('a***@e***.com');
    expect(maskEmail('x@sub.example.co.uk')).toBe('x***@s***.uk');
    expect(maskEmail('not-an-email')).toBe('***');
    expect(maskPhone('+4915112345678')).toBe('+49******5678');
    expect(maskPhone('+49 151 0000 1234')).toBe('+49******1234');
    expect(maskPhone('12345')).toBe('******');
  });
});

describe('computeAudiences', () => {
  it('evaluates every segment for every customer, in dependency order, with masked samples', () => {
    const ds = shop();
    const segments = [
      // depends on "buyers", listed first on purpose
      { name: 'big-repeat', expression: fakeExpression('segment("buyers") and sum > 40', [sum], (v, env) => env.segment!('buyers') && (v[0] as number) > 40, { segments: ['buyers'] }) },
      { name: 'buyers', expression: fakeExpression('count > 0', [count], (v) => (v[0] as number) > 0) },
      { name: 'opted-in', expression: fakeExpression('email_opt_in', [], (_, env) => env.profile.email_opt_in === true, { attributes: ['email_opt_in'] }) },
      { name: 'bucket', expression: fakeExpression('id ends with 1', [], (_, env) => env.customerId.endsWith('1')) },
    ];
    const r = computeAudiences(ds, segments, T0 + 10 * DAY);
    expect(r.order).toEqual(['buyers', 'opted-in', 'bucket', 'big-repeat']);
    expect(r.diagnostics).toEqual([]);
    const by = Object.fromEntries(r.audiences.map((a) => [a.name, a]));
    expect([...by.buyers.members]).toEqual([1, 1, 1, 0]);
    // c2 has 50 by day 10 (the 70 on day 30 is after now); c1 has 30
    expect([...by['big-repeat'].members]).toEqual([0, 1, 0, 0]);
    expect(by['opted-in'].size).toBe(3);
    expect(by.bucket.size).toBe(1);
    expect(by.buyers.sample.map((s) => s.id)).toEqual(['c1', 'c2', 'c3']);
    expect(by.buyers.sample[0].profile).toMatchObject({ email: 'a***@e***.com', phone: '+49******5678', first_name: 'Anna' });
    const unmasked = computeAudiences(ds, segments.slice(1, 2), T0 + 10 * DAY, { unmask: true, sampleSize: 1 });
    expect(unmasked.audiences[0].sample).toEqual([expect.objectContaining({ id: 'c1', profile: expect.objectContaining({ email: 'anna.schmidt@example.com' }) })]);
  });

  it('reports cycles and unknown segments instead of evaluating them', () => {
    const seg = (name: string, deps: string[]) => ({ name, expression: fakeExpression(name, [], () => true, { segments: deps }) });
    const segments = [seg('a', ['b']), seg('b', ['a']), seg('c', ['zzz']), seg('d', [])];
    expect(orderSegments(segments)).toMatchObject({ order: ['c', 'd'], cyclic: ['a', 'b'] });
    const r = computeAudiences(shop(), segments, T0);
    expect(r.diagnostics.map((d) => [d.code, d.severity])).toEqual([
      ['HER5060', 'error'],
      ['HER5060', 'error'],
      ['HER5061', 'warning'],
    ]);
    expect(r.audiences.map((a) => a.size)).toEqual([0, 0, 4, 4]);
  });
});

describe('segment report', () => {
  it('sizes, pairwise overlaps and a 5×5 RFM grid, as JSON and text', () => {
    const ds = shop();
    const now = T0 + 10 * DAY;
    const r = computeAudiences(
      ds,
      [
        { name: 'buyers', expression: fakeExpression('count > 0', [count], (v) => (v[0] as number) > 0) },
        { name: 'repeat', expression: fakeExpression('count > 1', [count], (v) => (v[0] as number) > 1) },
        { name: 'nobody', expression: fakeExpression('false', [], () => false) },
      ],
      now,
    );
    const rep = buildSegmentReport(ds, r);
    expect(rep.now).toBe('2026-01-11T00:00:00Z');
    expect(rep.segments.map((s) => [s.name, s.size, s.share])).toEqual([
      ['buyers', 3, 0.75],
      ['repeat', 1, 0.25],
      ['nobody', 0, 0],
    ]);
    expect(rep.overlaps).toEqual([
      { a: 'buyers', b: 'repeat', both: 1 },
      { a: 'buyers', b: 'nobody', both: 0 },
      { a: 'repeat', b: 'nobody', both: 0 },
    ]);
    const grid = rep.rfm!;
    expect(grid.cells).toHaveLength(25);
    expect(grid.scored).toBe(3);
    expect(grid.unscored).toBe(1);
    expect(grid.revenue_total).toBe(85);
    expect(grid.cells.reduce((n, c) => n + c.customers, 0)).toBe(3);
    // c1: last on day 5 (best recency), 3 purchases (best frequency); with N = 3 the best score the tie rule
    // gives is 1 + floor(5 * 2 / 3) = 4
    expect(grid.cells.find((c) => c.r === 4 && c.f === 4)).toEqual({ r: 4, f: 4, customers: 1, revenue: 30 });
    expect(JSON.parse(renderSegmentReportJson(rep))).toEqual(JSON.parse(JSON.stringify(rep)));
    const text = renderSegmentReportText(rep);
    expect(text).toContain('buyers ∩ repeat: 1 (33.3% of buyers, 100.0% of repeat)');
    expect(text).toMatch(/r=4 +0 \/ 0 .* 1 \/ 30 +0 \/ 0\n/);
    expect(groupDigits(1234567.891, 2)).toBe('1,234,567.89');
  });
});
