import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeAggregates } from '../../src/dataset/aggregate-pass.js';
import { DEFAULT_END, generateSample } from '../../src/dataset/generate-sample.js';
import { loadDataset } from '../../src/dataset/load-dataset.js';
import type { AggregateInput } from '../../src/model/inputs.js';
import { demoModel } from '../support/demo-model.js';
import { DAY, tempDir } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SAMPLE = path.join(ROOT, 'samples/demo-shop');

function files(dir: string): Record<string, Buffer> {
  return Object.fromEntries(['customers.csv', 'events.csv', 'products.csv'].map((f) => [f, readFileSync(path.join(dir, f))]));
}

/** Names of the files whose bytes differ (a deep toEqual on megabytes of Buffer is slow). */
function differing(a: Record<string, Buffer>, b: Record<string, Buffer>): string[] {
  return Object.keys(a).filter((f) => !a[f].equals(b[f]));
}

describe('sample generator', () => {
  it('is deterministic: the same seed gives byte-identical files, another seed different ones', () => {
    const a = tempDir();
    const b = tempDir();
    const c = tempDir();
    generateSample(a, { customers: 300, seed: 7 });
    generateSample(b, { customers: 300, seed: 7 });
    generateSample(c, { customers: 300, seed: 8 });
    expect(differing(files(a), files(b))).toEqual([]);
    expect(files(a)['events.csv'].equals(files(c)['events.csv'])).toBe(false);
    expect(files(a)['customers.csv'].equals(files(c)['customers.csv'])).toBe(false);
  });

  it('the committed samples/demo-shop is what its README command generates', () => {
    const readme = readFileSync(path.join(SAMPLE, 'README.md'), 'utf8');
    const m = /herald sample generate --customers (\d+) --seed (\d+) --out samples\/demo-shop/.exec(readme);
    expect(m, 'README states the exact command').not.toBeNull();
    const out = tempDir();
    generateSample(out, { customers: Number(m![1]), seed: Number(m![2]) });
    expect(differing(files(out), files(SAMPLE))).toEqual([]);
    const bytes = readdirSync(SAMPLE).reduce((n, f) => n + readFileSync(path.join(SAMPLE, f)).length, 0);
    expect(bytes).toBeLessThan(4.5e6);
  });

  it('looks like a shop: contact data, consent, time zones, skew, Zipf, and audiences for the example campaigns', () => {
    const r = loadDataset(SAMPLE, demoModel, { strict: true });
    expect(r.diagnostics).toEqual([]);
    const ds = r.dataset!;
    const n = ds.customerCount;
    expect(n).toBeGreaterThanOrEqual(2000);
    expect(ds.eventTable('purchase')!.count).toBeGreaterThan(n);

    const zones = new Set<string>();
    let emailOptIn = 0;
    let smsOptIn = 0;
    let phones = 0;
    for (let i = 0; i < n; i++) {
      const p = ds.profile(i);
      if (p.email !== null) expect(p.email).toMatch(/^[a-z]+\.\d+@example\.com$/);
      if (p.phone !== null) {
        expect(p.phone).toMatch(/^\+491510000\d{4}$/);
        phones++;
      }
      if (p.timezone) zones.add(p.timezone as string);
      if (p.email_opt_in) emailOptIn++;
      if (p.sms_opt_in) smsOptIn++;
      expect(p.signed_up_at).toBeTypeOf('number');
    }
    for (const z of ['Europe/Berlin', 'Europe/London', 'America/New_York', 'Asia/Tokyo']) expect(zones).toContain(z);
    expect(emailOptIn / n).toBeGreaterThan(0.5);
    expect(emailOptIn / n).toBeLessThan(0.7);
    expect(smsOptIn / phones).toBeGreaterThan(0.1);
    expect(smsOptIn / phones).toBeLessThan(0.35);

    const now = DEFAULT_END - 30 * DAY; // the plan's default: dataset end minus a 30-day horizon
    const spec = (key: string, fn: AggregateInput['fn'], event: string, withinDays?: number, prop?: string): AggregateInput => ({
      kind: 'aggregate',
      key,
      fn,
      event,
      prop,
      withinMs: withinDays === undefined ? undefined : withinDays * DAY,
    });
    const [all, revenue] = computeAggregates(ds, [spec('all', 'count', 'purchase'), spec('rev', 'sum', 'purchase', undefined, 'amount')], DEFAULT_END);
    let oneTime = 0;
    let buyers = 0;
    for (let i = 0; i < n; i++) {
      if (all[i] > 0) buyers++;
      if (all[i] === 1) oneTime++;
    }
    expect(oneTime / buyers).toBeGreaterThan(0.35); // many one-time buyers
    const sorted = Float64Array.from(revenue).sort().reverse();
    const top10 = sorted.subarray(0, n / 10).reduce((a, b) => a + b, 0);
    expect(top10 / sorted.reduce((a, b) => a + b, 0)).toBeGreaterThan(0.5); // a loyal head holds most revenue

    const [f30, l365, last, v7, b7] = computeAggregates(
      ds,
      [spec('c30', 'count', 'purchase', 30), spec('c365', 'count', 'purchase', 365), spec('last', 'last', 'purchase'), spec('v7', 'count', 'product_view', 7), spec('b7', 'count', 'purchase', 7)],
      now,
    );
    let frequent = 0;
    let lapsedLoyal = 0;
    let viewedNotBought = 0;
    for (let i = 0; i < n; i++) {
      if (f30[i] >= 5) frequent++;
      if (l365[i] >= 5 && (now - last[i]) / DAY > 90) lapsedLoyal++;
      if (v7[i] > 0 && b7[i] === 0) viewedNotBought++;
    }
    expect(frequent).toBeGreaterThanOrEqual(5);
    expect(lapsedLoyal).toBeGreaterThanOrEqual(10);
    expect(viewedNotBought).toBeGreaterThanOrEqual(20);
    const signups = ds.eventTable('signup')!;
    let newSignups = 0;
    for (let j = 0; j < signups.count; j++) if (signups.ts[j] > now) newSignups++;
    expect(newSignups).toBeGreaterThanOrEqual(50); // the welcome journey fires on these

    // Zipf: the most viewed product gets many times the median product's views
    const views = ds.eventTable('product_view')!;
    const col = views.props.get('product_id')!;
    const perProduct = new Map<number, number>();
    if (col.kind === 'string') for (const c of col.codes) perProduct.set(c, (perProduct.get(c) ?? 0) + 1);
    const counts = [...perProduct.values()].sort((a, b) => b - a);
    expect(counts[0] / counts[Math.floor(counts.length / 2)]).toBeGreaterThan(20);
    expect(ds.product(ds.strings.get([...perProduct.keys()][0]))).toBeDefined();
  });
});
