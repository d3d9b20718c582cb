// RFM scores (DESIGN §4.2: rfm.r, rfm.f, rfm.m, rfm.score, rfm.segment) from the dataset's columns.
//
// Population: customers with at least one monetary event (model.rfm.monetary.event) in the window
// (now - rfm.windowMs, now]; everyone else has null scores.
//   recency   = now - ts of the last such event (smaller is better)
//   frequency = number of such events (bigger is better)
//   monetary  = sum of the monetary prop over them, missing values skipped (bigger is better)
//
// Tie rule (deterministic, reproducible in SQL): a customer's score on a dimension is
//     1 + floor(5 * w / N)
// where N is the population size and w the number of customers with a strictly worse value. Equal values
// always get the same score — the lowest their shared rank allows — so nobody's score depends on file
// order or ids. In SQL: 1 + floor(5.0 * (rank() over (order by x [desc for recency]) - 1) / count(*) over ()).
// Consequence worth knowing: frequency is heavily tied (most customers buy once), so f = 1 is score 1 for
// all of them and the next frequency jumps straight to the score its rank implies; some quintiles can be
// empty. With all-distinct values each score holds N/5 customers.
//
// Named segments come from the R × F grid below (the widely used RFM segment map, extended with `lost`).
import type { Dataset } from '../dataset/dataset.js';
import { computeAggregates } from '../dataset/aggregate-pass.js';
import type { AggregateInput } from '../model/inputs.js';
import type { RfmSettings } from '../model/data-model.js';

export const RFM_SEGMENTS = [
  'champions',
  'loyal',
  'potential_loyalist',
  'new',
  'promising',
  'need_attention',
  'about_to_sleep',
  'at_risk',
  'cant_lose',
  'hibernating',
  'lost',
] as const;
export type RfmSegment = (typeof RFM_SEGMENTS)[number];

/** RFM_GRID[r - 1][f - 1]: the segment of a customer with recency score r and frequency score f. */
export const RFM_GRID: readonly (readonly RfmSegment[])[] = [
  /* r=1 */ ['lost', 'hibernating', 'at_risk', 'at_risk', 'cant_lose'],
  /* r=2 */ ['hibernating', 'hibernating', 'at_risk', 'at_risk', 'cant_lose'],
  /* r=3 */ ['about_to_sleep', 'about_to_sleep', 'need_attention', 'loyal', 'loyal'],
  /* r=4 */ ['promising', 'potential_loyalist', 'potential_loyalist', 'loyal', 'loyal'],
  /* r=5 */ ['new', 'potential_loyalist', 'potential_loyalist', 'champions', 'champions'],
];

const GRID_INDEX = RFM_GRID.map((row) => row.map((name) => RFM_SEGMENTS.indexOf(name)));

export function rfmSegmentName(r: number, f: number): RfmSegment {
  return RFM_GRID[r - 1][f - 1];
}

export interface RfmScores {
  now: number;
  settings: RfmSettings;
  /** Customers with scores. */
  scored: number;
  /** Scores 1..5, 0 for customers outside the population. */
  r: Uint8Array;
  f: Uint8Array;
  m: Uint8Array;
  /** Index into RFM_SEGMENTS, -1 for customers outside the population. */
  segment: Int8Array;
  /** Raw values (NaN outside the population): ms since the last monetary event, count, sum. */
  recencyMs: Float64Array;
  frequency: Float64Array;
  monetary: Float64Array;
}

/** The aggregates RFM needs, so a caller can fold them into its own single pass. */
export function rfmAggregateSpecs(settings: RfmSettings): [AggregateInput, AggregateInput, AggregateInput] {
  const { event, prop } = settings.monetary;
  const w = settings.windowMs;
  return [
    { kind: 'aggregate', key: `__rfm.last(${event},${w})`, fn: 'last', event, withinMs: w },
    { kind: 'aggregate', key: `__rfm.count(${event},${w})`, fn: 'count', event, withinMs: w },
    { kind: 'aggregate', key: `__rfm.sum(${event}.${prop},${w})`, fn: 'sum', event, prop, withinMs: w },
  ];
}

/**
 * Scores on one dimension by the tie rule above: 1 + floor(5 * worse / N). `values` holds NaN outside the
 * population; bigger is better.
 */
export function quintileScores(values: Float64Array, population: number): Uint8Array {
  const out = new Uint8Array(values.length);
  if (population === 0) return out;
  const ranked = new Float64Array(population);
  let k = 0;
  for (let i = 0; i < values.length; i++) if (values[i] === values[i]) ranked[k++] = values[i];
  // floor(5 * worse / N) >= s exactly when worse >= ceil(s * N / 5), that is when the value of that rank
  // is below x (worse < N, so s stops at 4): four ranks found by selection, four comparisons per customer,
  // instead of a sort and a binary search each.
  const r1 = Math.ceil(population / 5) - 1;
  const r2 = Math.ceil((2 * population) / 5) - 1;
  const r3 = Math.ceil((3 * population) / 5) - 1;
  const r4 = Math.ceil((4 * population) / 5) - 1;
  select(ranked, r2, 0, population - 1);
  select(ranked, r1, 0, r2);
  select(ranked, r3, r2, population - 1);
  select(ranked, r4, r3, population - 1);
  const b1 = ranked[r1];
  const b2 = ranked[r2];
  const b3 = ranked[r3];
  const b4 = ranked[r4];
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x !== x) continue;
    out[i] = 1 + (b1 < x ? 1 : 0) + (b2 < x ? 1 : 0) + (b3 < x ? 1 : 0) + (b4 < x ? 1 : 0);
  }
  return out;
}

/**
 * Moves the value of rank k (0-based, ascending) within a[lo..hi] to a[k], smaller or equal values
 * before it and greater or equal after (Hoare's quickselect, median-of-three pivot; no NaN).
 */
function select(a: Float64Array, k: number, lo: number, hi: number): void {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as pivot: sorted a[lo] <= a[mid] <= a[hi].
    if (a[mid] < a[lo]) swap(a, mid, lo);
    if (a[hi] < a[lo]) swap(a, hi, lo);
    if (a[hi] < a[mid]) swap(a, hi, mid);
    const pivot = a[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    // Now a[lo..j] <= pivot <= a[i..hi], and a[j+1..i-1] equal the pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/** RFM scores from the three aggregate columns of rfmAggregateSpecs (last ts, count, sum). */
export function scoreRfm(settings: RfmSettings, now: number, last: Float64Array, count: Float64Array, sum: Float64Array): RfmScores {
  const n = last.length;
  const recencyMs = new Float64Array(n).fill(NaN);
  const frequency = new Float64Array(n).fill(NaN);
  const monetary = new Float64Array(n).fill(NaN);
  const lastTs = new Float64Array(n).fill(NaN);
  let scored = 0;
  for (let i = 0; i < n; i++) {
    if (count[i] > 0) {
      scored++;
      lastTs[i] = last[i];
      recencyMs[i] = now - last[i];
      frequency[i] = count[i];
      monetary[i] = sum[i];
    }
  }
  // Recency: a later last event is better, so rank by the last timestamp.
  const r = quintileScores(lastTs, scored);
  const f = quintileScores(frequency, scored);
  const m = quintileScores(monetary, scored);
  const segment = new Int8Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    if (r[i] > 0) segment[i] = GRID_INDEX[r[i] - 1][f[i] - 1];
  }
  return { now, settings, scored, r, f, m, segment, recencyMs, frequency, monetary };
}

/** RFM scores of every customer at `now` (undefined when the model declares no rfm settings). */
export function computeRfm(dataset: Dataset, now: number, settings = dataset.model.rfm): RfmScores | undefined {
  if (!settings) return undefined;
  const [last, count, sum] = computeAggregates(dataset, rfmAggregateSpecs(settings), now);
  return scoreRfm(settings, now, last, count, sum);
}
