// `npm run bench -- dataset`: the data layer on generated shops of 100k customers (~2M events) and 1M
// (~22M events). Generated data is cached in os.tmpdir()/herald-bench between runs.
//   - load: CSV text (goal ≥ 5M events/s) and the cached binary form (goal ≥ 20M events/s)
//   - all aggregates + RFM quintiles through computeInputs vs a hand-written columnar pass over the same
//     arrays (goal: ratio ≤ 1.5×)
//   - peak RSS of a process that loads the 1M dataset and computes the inputs (goal ≤ 2 GB)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { computeInputs } from '../src/dataset/compute-inputs.js';
import { upperBound, type Dataset } from '../src/dataset/dataset.js';
import { DEFAULT_END, generateSample } from '../src/dataset/generate-sample.js';
import { loadDataset } from '../src/dataset/load-dataset.js';
import type { InputSpec } from '../src/model/inputs.js';
import { demoModel } from '../test/support/demo-model.js';

const DAY = 86_400_000;
const NOW = DEFAULT_END - 30 * DAY;
const BASE = path.join(os.tmpdir(), 'herald-bench');
const SELF = fileURLToPath(import.meta.url);

const SPECS: InputSpec[] = [
  { kind: 'aggregate', key: 'count(purchase,365d)', fn: 'count', event: 'purchase', withinMs: 365 * DAY },
  { kind: 'aggregate', key: 'sum(purchase.amount,365d)', fn: 'sum', event: 'purchase', prop: 'amount', withinMs: 365 * DAY },
  { kind: 'aggregate', key: 'last(purchase)', fn: 'last', event: 'purchase' },
  { kind: 'aggregate', key: 'count(purchase,7d)', fn: 'count', event: 'purchase', withinMs: 7 * DAY },
  { kind: 'aggregate', key: 'count(product_view,7d)', fn: 'count', event: 'product_view', withinMs: 7 * DAY },
  { kind: 'aggregate', key: 'distinct(product_view.product_id,30d)', fn: 'distinct', event: 'product_view', prop: 'product_id', withinMs: 30 * DAY },
  { kind: 'aggregate', key: 'count(email_open,30d)', fn: 'count', event: 'email_open', withinMs: 30 * DAY },
  {
    kind: 'aggregate',
    key: 'count(purchase,365d,amount>100)',
    fn: 'count',
    event: 'purchase',
    withinMs: 365 * DAY,
    where: { canonical: 'amount > 100', props: ['amount'], test: (p) => typeof p.amount === 'number' && p.amount > 100 },
  },
  { kind: 'ltv', key: 'ltv' },
  ...(['r', 'f', 'm', 'score', 'segment'] as const).map((field): InputSpec => ({ kind: 'rfm', key: `rfm.${field}`, field })),
];

/** The same figures written out by hand for this spec list: what a careful engineer would write once. */
function handWritten(ds: Dataset, now: number): Float64Array[] {
  const n = ds.customerCount;
  const p = ds.eventTable('purchase')!;
  const v = ds.eventTable('product_view')!;
  const o = ds.eventTable('email_open')!;
  const amount = (p.props.get('amount') as { values: Float64Array }).values;
  const pid = (v.props.get('product_id') as { codes: Int32Array }).codes;
  const c365 = new Float64Array(n);
  const s365 = new Float64Array(n);
  const last = new Float64Array(n).fill(NaN);
  const c7 = new Float64Array(n);
  const big = new Float64Array(n);
  const ltv = new Float64Array(n);
  const v7 = new Float64Array(n);
  const d30 = new Float64Array(n);
  const o30 = new Float64Array(n);
  const stamp = new Int32Array(ds.strings.size);
  for (let i = 0; i < n; i++) {
    let s = p.offsets[i];
    let e = upperBound(p.ts, s, p.offsets[i + 1], now);
    if (e > s) {
      last[i] = p.ts[e - 1];
      const a365 = upperBound(p.ts, s, e, now - 365 * DAY);
      const a7 = upperBound(p.ts, a365, e, now - 7 * DAY);
      c365[i] = e - a365;
      c7[i] = e - a7;
      let sum = 0;
      let total = 0;
      let nBig = 0;
      for (let j = s; j < e; j++) {
        const x = amount[j];
        if (x !== x) continue;
        total += x;
        if (j >= a365) {
          sum += x;
          if (x > 100) nBig++;
        }
      }
      s365[i] = sum;
      ltv[i] = total;
      big[i] = nBig;
    }
    s = v.offsets[i];
    e = upperBound(v.ts, s, v.offsets[i + 1], now);
    if (e > s) {
      const a30 = upperBound(v.ts, s, e, now - 30 * DAY);
      v7[i] = e - upperBound(v.ts, a30, e, now - 7 * DAY);
      let d = 0;
      for (let j = a30; j < e; j++) {
        const c = pid[j];
        if (c >= 0 && stamp[c] !== i + 1) {
          stamp[c] = i + 1;
          d++;
        }
      }
      d30[i] = d;
    }
    s = o.offsets[i];
    e = upperBound(o.ts, s, o.offsets[i + 1], now);
    o30[i] = e - upperBound(o.ts, s, e, now - 30 * DAY);
  }
  // RFM quintiles over customers with a purchase in the 365-day window, same tie rule.
  const quint = (vals: Float64Array): Uint8Array => {
    const pop = vals.filter((x) => x === x).sort();
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const x = vals[i];
      if (x !== x) continue;
      let lo = 0;
      let hi = pop.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (pop[mid] < x) lo = mid + 1;
        else hi = mid;
      }
      out[i] = 1 + Math.floor((5 * lo) / pop.length);
    }
    return out;
  };
  const lastIn = new Float64Array(n);
  const fIn = new Float64Array(n);
  const mIn = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const has = c365[i] > 0;
    lastIn[i] = has ? last[i] : NaN;
    fIn[i] = has ? c365[i] : NaN;
    mIn[i] = has ? s365[i] : NaN;
  }
  const r = quint(lastIn);
  const f = quint(fIn);
  const m = quint(mIn);
  const score = new Float64Array(n);
  for (let i = 0; i < n; i++) score[i] = r[i] === 0 ? NaN : 100 * r[i] + 10 * f[i] + m[i];
  return [c365, s365, last, c7, v7, d30, o30, big, ltv, score];
}

function best(times: number, fn: () => void): number {
  let min = Infinity;
  for (let k = 0; k < times; k++) {
    const t = performance.now();
    fn();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

function fmt(x: number, digits = 2): string {
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function line(label: string, value: string, ratio: string, goal: string, ok: boolean): void {
  console.log(`  ${label.padEnd(34)} ${value.padStart(16)}   ${ratio.padStart(9)}   goal ${goal.padEnd(12)} ${ok ? 'ok' : 'MISSED'}`);
}

function ensureGenerated(customers: number): string {
  const dir = path.join(BASE, `shop-${customers}-seed7`);
  if (existsSync(path.join(dir, '.complete'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  const t = performance.now();
  const s = generateSample(dir, { customers, seed: 7 });
  writeFileSync(path.join(dir, '.complete'), JSON.stringify(s));
  console.log(`  generated ${fmt(customers, 0)} customers / ${fmt(s.events, 0)} events in ${fmt((performance.now() - t) / 1000, 1)} s → ${dir}`);
  return dir;
}

/** Child mode: load (CSV or cache) + compute inputs, then report the peak RSS. */
function child(mode: string, dir: string, cacheDir: string): void {
  const r = loadDataset(dir, demoModel, mode === 'cache' ? { cacheDir } : {});
  computeInputs(r.dataset!, SPECS, NOW);
  // VmHWM, not getrusage's maxRSS: after fork+exec Linux reports the parent's high-water mark there.
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  process.stdout.write(JSON.stringify({ maxRssKb: hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS, cache: r.cache }));
}

function peakRss(mode: 'csv' | 'cache', dir: string, cacheDir: string): number {
  const res = spawnSync(process.execPath, ['--import', 'tsx', SELF, '--child', mode, dir, cacheDir], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (res.status !== 0) throw new Error(`child failed: ${res.stderr}`);
  return (JSON.parse(res.stdout) as { maxRssKb: number }).maxRssKb * 1024;
}

export async function run(): Promise<void> {
  mkdirSync(BASE, { recursive: true });
  for (const customers of [100_000, 1_000_000]) {
    console.log(`\n${fmt(customers, 0)} customers`);
    const dir = ensureGenerated(customers);
    const cacheDir = path.join(BASE, 'cache');
    rmSync(cacheDir, { recursive: true, force: true });

    let t = performance.now();
    let text: ReturnType<typeof loadDataset> | undefined = loadDataset(dir, demoModel);
    const csvMs = performance.now() - t;
    const events = text.dataset!.eventCount;
    text = undefined;
    const csvRate = events / (csvMs / 1000);
    line(`load CSV (${fmt(events / 1e6, 1)}M events)`, `${fmt(csvRate / 1e6)}M ev/s`, `${fmt(csvRate / 5e6)}×`, '≥ 5M ev/s', csvRate >= 5e6);
    console.log(`    (${fmt(csvMs / 1000)} s; ${fmt(JSON.parse(readFileSync(path.join(dir, '.complete'), 'utf8')).files.reduce((a: number, f: { bytes: number }) => a + f.bytes, 0) / 1e6, 0)} MB of CSV)`);

    t = performance.now();
    if (loadDataset(dir, demoModel, { cacheDir }).cache !== 'written') throw new Error('cache not written');
    const writeMs = performance.now() - t;
    // Best of three, with the previous copy collected first (the machine is shared; see the report).
    let cached: ReturnType<typeof loadDataset> | undefined;
    let cacheMs = Infinity;
    for (let k = 0; k < 3; k++) {
      cached = undefined;
      (globalThis as { gc?: () => void }).gc?.();
      t = performance.now();
      cached = loadDataset(dir, demoModel, { cacheDir });
      cacheMs = Math.min(cacheMs, performance.now() - t);
      if (cached.cache !== 'hit') throw new Error('cache not hit');
    }
    if (!cached) throw new Error('unreachable');
    const cacheRate = events / (cacheMs / 1000);
    line('load binary cache', `${fmt(cacheRate / 1e6)}M ev/s`, `${fmt(cacheRate / 20e6)}×`, '≥ 20M ev/s', cacheRate >= 20e6);
    console.log(`    (${fmt(cacheMs / 1000, 3)} s; writing it after a CSV load: ${fmt(writeMs / 1000)} s)`);

    // Interleaved, best of five each: on a shared machine the minimum is the figure least disturbed.
    let generic = Infinity;
    let manual = Infinity;
    for (let k = 0; k < 5; k++) {
      generic = Math.min(generic, best(1, () => computeInputs(cached!.dataset!, SPECS, NOW)));
      manual = Math.min(manual, best(1, () => handWritten(cached!.dataset!, NOW)));
    }
    // Agreement check: the two must compute the same numbers.
    const inputs = computeInputs(cached.dataset!, SPECS, NOW);
    const hand = handWritten(cached.dataset!, NOW);
    const keys = ['count(purchase,365d)', 'sum(purchase.amount,365d)', 'last(purchase)', 'count(purchase,7d)', 'count(product_view,7d)', 'distinct(product_view.product_id,30d)', 'count(email_open,30d)', 'count(purchase,365d,amount>100)', 'ltv', 'rfm.score'];
    keys.forEach((key, k) => {
      for (let i = 0; i < cached.dataset!.customerCount; i++) {
        const a = inputs.value(key, i);
        const b = Number.isNaN(hand[k][i]) ? null : hand[k][i];
        if (a !== b) throw new Error(`${key} differs for customer ${i}: ${a} vs ${b}`);
      }
    });
    line(`aggregates + RFM (${SPECS.length} inputs)`, `${fmt(generic, 0)} ms`, `${fmt(generic / manual)}×`, '≤ 1.5× hand', generic / manual <= 1.5);
    console.log(`    (hand-written columnar pass over the same arrays: ${fmt(manual, 0)} ms; results identical)`);

    if (customers === 1_000_000) {
      const csvPeak = peakRss('csv', dir, cacheDir);
      line('peak RSS, CSV load + inputs', `${fmt(csvPeak / 2 ** 30)} GB`, `${fmt(csvPeak / 2 ** 31)}×`, '≤ 2 GB', csvPeak <= 2 ** 31);
      const cachePeak = peakRss('cache', dir, cacheDir);
      line('peak RSS, cached load + inputs', `${fmt(cachePeak / 2 ** 30)} GB`, `${fmt(cachePeak / 2 ** 31)}×`, '≤ 2 GB', cachePeak <= 2 ** 31);
    }
  }
}

if (process.argv[2] === '--child') child(process.argv[3], process.argv[4], process.argv[5]);
