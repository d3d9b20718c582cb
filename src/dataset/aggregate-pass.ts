// The one pass over events that computes windowed aggregates for every customer. Specs are grouped by event
// type; for each type the pass walks customers once and, per customer, finds the visible range
// (ts <= now, ts > now - within) by binary search on the time-sorted rows, then runs each spec's loop over
// that range only. Specs without `where` never materialise an event; with `where`, one reused props object
// per spec is filled with just the props the predicate reads.
import type { AggregateInput } from '../model/inputs.js';
import { propValue, upperBound, type Dataset, type PropColumn } from './dataset.js';

const enum Op {
  Count,
  Sum,
  Avg,
  Min,
  Max,
  Distinct,
  First,
  Last,
}

function opOf(fn: AggregateInput['fn']): Op {
  switch (fn) {
    case 'count':
      return Op.Count;
    case 'sum':
      return Op.Sum;
    case 'avg':
      return Op.Avg;
    case 'min':
      return Op.Min;
    case 'max':
      return Op.Max;
    case 'distinct':
      return Op.Distinct;
    case 'first':
      return Op.First;
    case 'last':
      return Op.Last;
  }
}

/** The value an aggregate has for a customer with no visible event (inputs.ts conventions). */
export function emptyValue(fn: AggregateInput['fn']): number {
  return fn === 'count' || fn === 'sum' || fn === 'distinct' ? 0 : NaN;
}

interface Plan {
  op: Op;
  window: number;
  out: Float64Array;
  /** Numeric values for sum/avg/min/max (number props only). */
  num?: Float64Array;
  prop?: PropColumn;
  where?: AggregateInput['where'];
  whereProps: string[];
  whereColumns: (PropColumn | undefined)[];
  scratch: Record<string, unknown>;
  test?: (j: number) => boolean;
  stamp?: Int32Array;
  set?: Set<number>;
}

/**
 * Values of `specs` for every customer at `now`, one Float64Array per spec (NaN = null). Events after
 * `now` are invisible; a window covers (now - withinMs, now].
 */
export function computeAggregates(dataset: Dataset, specs: readonly AggregateInput[], now: number): Float64Array[] {
  const n = dataset.customerCount;
  const results = specs.map((s) => new Float64Array(n).fill(emptyValue(s.fn)));
  const byType = new Map<string, number[]>();
  specs.forEach((s, k) => {
    const list = byType.get(s.event) ?? [];
    list.push(k);
    byType.set(s.event, list);
  });
  for (const [type, ks] of byType) {
    const table = dataset.eventTable(type);
    if (!table || table.count === 0) continue;
    const starts: number[] = [];
    const plans: Plan[] = ks.map((k) => {
      const spec = specs[k];
      const start = spec.withinMs === undefined ? -Infinity : now - spec.withinMs;
      let window = starts.indexOf(start);
      if (window < 0) window = starts.push(start) - 1;
      const prop = spec.prop === undefined ? undefined : table.props.get(spec.prop);
      const whereProps = spec.where ? [...spec.where.props] : [];
      const plan: Plan = {
        op: opOf(spec.fn),
        window,
        out: results[k],
        prop,
        where: spec.where,
        whereProps,
        whereColumns: whereProps.map((p) => table.props.get(p)),
        scratch: {},
      };
      if (prop?.kind === 'number') plan.num = prop.values;
      if (plan.op === Op.Distinct && prop) {
        if (prop.kind === 'string' || (prop.kind === 'list' && prop.element === 'string')) plan.stamp = new Int32Array(dataset.strings.size);
        else plan.set = new Set<number>();
      }
      return plan;
    });
    runType(dataset, table.offsets, table.ts, plans, new Float64Array(starts), now, n);
  }
  return results;
}

function runType(
  dataset: Dataset,
  offsets: Int32Array,
  ts: Float64Array,
  plans: Plan[],
  starts: Float64Array,
  now: number,
  customers: number,
): void {
  const lo = new Int32Array(starts.length);
  const nw = starts.length;
  const np = plans.length;
  for (let c = 0; c < customers; c++) {
    const s = offsets[c];
    const e = offsets[c + 1];
    if (s === e) continue;
    const hi = ts[e - 1] <= now ? e : upperBound(ts, s, e, now);
    if (hi === s) continue;
    for (let w = 0; w < nw; w++) lo[w] = starts[w] === -Infinity ? s : upperBound(ts, s, hi, starts[w]);
    for (let k = 0; k < np; k++) {
      const p = plans[k];
      const a = lo[p.window];
      if (a === hi) continue;
      if (p.where) {
        runWhere(dataset, p, c, a, hi, ts);
        continue;
      }
      switch (p.op) {
        case Op.Count:
          p.out[c] = hi - a;
          break;
        case Op.First:
          p.out[c] = ts[a];
          break;
        case Op.Last:
          p.out[c] = ts[hi - 1];
          break;
        case Op.Sum: {
          const v = p.num;
          if (!v) break;
          let sum = 0;
          for (let j = a; j < hi; j++) {
            const x = v[j];
            if (x === x) sum += x;
          }
          p.out[c] = sum;
          break;
        }
        case Op.Avg: {
          const v = p.num;
          if (!v) break;
          let sum = 0;
          let cnt = 0;
          for (let j = a; j < hi; j++) {
            const x = v[j];
            if (x === x) {
              sum += x;
              cnt++;
            }
          }
          if (cnt > 0) p.out[c] = sum / cnt;
          break;
        }
        case Op.Min: {
          const v = p.num;
          if (!v) break;
          let m = Infinity;
          for (let j = a; j < hi; j++) if (v[j] < m) m = v[j];
          if (m !== Infinity) p.out[c] = m;
          break;
        }
        case Op.Max: {
          const v = p.num;
          if (!v) break;
          let m = -Infinity;
          for (let j = a; j < hi; j++) if (v[j] > m) m = v[j];
          if (m !== -Infinity) p.out[c] = m;
          break;
        }
        case Op.Distinct:
          p.out[c] = distinct(p, c, a, hi, () => true);
          break;
      }
    }
  }
}

/** Distinct non-null values of the prop over rows [a, hi) passing `keep`; list props count their items. */
function distinct(p: Plan, c: number, a: number, hi: number, keep: (j: number) => boolean): number {
  const col = p.prop;
  if (!col) return 0;
  let count = 0;
  if (p.stamp) {
    const stamp = p.stamp;
    const mark = c + 1;
    if (col.kind === 'string') {
      const codes = col.codes;
      for (let j = a; j < hi; j++) {
        const v = codes[j];
        if (v >= 0 && stamp[v] !== mark && keep(j)) {
          stamp[v] = mark;
          count++;
        }
      }
    } else if (col.kind === 'list') {
      const items = col.items;
      for (let j = a; j < hi; j++) {
        if (!keep(j)) continue;
        for (let q = col.offsets[j]; q < col.offsets[j + 1]; q++) {
          const v = items[q];
          if (stamp[v] !== mark) {
            stamp[v] = mark;
            count++;
          }
        }
      }
    }
    return count;
  }
  const set = p.set!;
  set.clear();
  for (let j = a; j < hi; j++) {
    if (!keep(j)) continue;
    if (col.kind === 'number' || col.kind === 'bool') {
      const v = col.values[j];
      if (v === v && v >= (col.kind === 'bool' ? 0 : -Infinity)) set.add(v);
    } else if (col.kind === 'list') {
      for (let q = col.offsets[j]; q < col.offsets[j + 1]; q++) set.add(col.items[q]);
    }
  }
  return set.size;
}

/** The plan's `where` on row j, filling its scratch object with just the props the predicate reads. */
function rowTest(dataset: Dataset, p: Plan): (j: number) => boolean {
  const where = p.where!;
  const obj = p.scratch;
  const names = p.whereProps;
  const cols = p.whereColumns;
  const strings = dataset.strings;
  return (j: number): boolean => {
    for (let q = 0; q < names.length; q++) {
      const col = cols[q];
      obj[names[q]] = col ? propValue(col, j, strings) : null;
    }
    return where.test(obj);
  };
}

function runWhere(dataset: Dataset, p: Plan, c: number, a: number, hi: number, ts: Float64Array): void {
  // One closure per plan, not one per customer.
  const test = (p.test ??= rowTest(dataset, p));
  switch (p.op) {
    case Op.Count: {
      let n = 0;
      for (let j = a; j < hi; j++) if (test(j)) n++;
      p.out[c] = n;
      return;
    }
    case Op.First:
      for (let j = a; j < hi; j++) {
        if (test(j)) {
          p.out[c] = ts[j];
          return;
        }
      }
      return;
    case Op.Last:
      for (let j = hi - 1; j >= a; j--) {
        if (test(j)) {
          p.out[c] = ts[j];
          return;
        }
      }
      return;
    case Op.Distinct:
      p.out[c] = distinct(p, c, a, hi, test);
      return;
    default: {
      const v = p.num;
      if (!v) return;
      let sum = 0;
      let cnt = 0;
      let min = Infinity;
      let max = -Infinity;
      for (let j = a; j < hi; j++) {
        const x = v[j];
        if (x !== x || !test(j)) continue;
        sum += x;
        cnt++;
        if (x < min) min = x;
        if (x > max) max = x;
      }
      if (p.op === Op.Sum) p.out[c] = sum;
      else if (cnt > 0) p.out[c] = p.op === Op.Avg ? sum / cnt : p.op === Op.Min ? min : max;
    }
  }
}
