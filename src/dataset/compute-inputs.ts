// computeInputs: the per-customer values compiled expressions read (model/inputs.ts), for every customer
// at one `now`, as typed columns. Aggregates, the RFM base figures and LTV all go through one
// computeAggregates pass; specs are deduplicated by key so each is computed once however many expressions
// use it. CLV inputs come from a provider (the CLV module) or are null.
import { RFM_SEGMENTS, rfmAggregateSpecs, scoreRfm, type RfmScores } from '../analytics/rfm.js';
import type { AggregateInput, ClvInput, InputSpec, InputValue } from '../model/inputs.js';
import { computeAggregates } from './aggregate-pass.js';
import type { Dataset } from './dataset.js';

export type InputColumn =
  /** NaN is null. */
  | { kind: 'number'; values: Float64Array }
  /** codes index `labels`; -1 is null. */
  | { kind: 'string'; codes: Int8Array | Int32Array; labels: readonly string[] };

/** CLV values for every customer (NaN = null), or undefined when no fit is available. */
export type ClvProvider = (spec: ClvInput, dataset: Dataset, now: number) => Float64Array | undefined;

export interface ComputeInputsOptions {
  clvProvider?: ClvProvider;
}

export interface InputTable {
  readonly now: number;
  readonly customerCount: number;
  /** Deduplicated specs, in first-seen order. */
  readonly specs: readonly InputSpec[];
  /** Column of each spec in `specs`. */
  readonly columns: readonly InputColumn[];
  /** RFM scores when any rfm input was requested. */
  readonly rfm?: RfmScores;
  column(key: string): InputColumn | undefined;
  value(key: string, customer: number): InputValue;
  /**
   * A filler for one expression's inputs (in its order): `fill(i, out)` writes customer i's values into
   * `out` (reused across customers) and returns it, ready for EvalEnv.inputs.
   */
  bind(specs: readonly InputSpec[]): (customer: number, out: InputValue[]) => InputValue[];
}

export function columnValue(col: InputColumn, i: number): InputValue {
  if (col.kind === 'number') {
    const v = col.values[i];
    return v === v ? v : null;
  }
  const c = col.codes[i];
  return c < 0 ? null : col.labels[c];
}

export function computeInputs(dataset: Dataset, specs: readonly InputSpec[], now: number, options: ComputeInputsOptions = {}): InputTable {
  const n = dataset.customerCount;
  const unique: InputSpec[] = [];
  const index = new Map<string, number>();
  for (const s of specs) {
    if (index.has(s.key)) continue;
    index.set(s.key, unique.length);
    unique.push(s);
  }
  const settings = dataset.model.rfm;
  const needsRfm = unique.some((s) => s.kind === 'rfm') && settings !== undefined;
  const needsLtv = unique.some((s) => s.kind === 'ltv') && settings !== undefined;

  // One pass for all aggregates, with RFM's three base figures and LTV folded in.
  const aggregates: AggregateInput[] = unique.filter((s): s is AggregateInput => s.kind === 'aggregate');
  const aggKeys = new Map<string, number>();
  const addAggregate = (a: AggregateInput): number => {
    const known = aggKeys.get(a.key);
    if (known !== undefined) return known;
    aggKeys.set(a.key, aggregates.length);
    return aggregates.push(a) - 1;
  };
  aggregates.forEach((a, k) => aggKeys.set(a.key, k));
  const rfmAt = needsRfm ? rfmAggregateSpecs(settings!).map(addAggregate) : [];
  const ltvAt = needsLtv
    ? addAggregate({ kind: 'aggregate', key: `__ltv(${settings!.monetary.event}.${settings!.monetary.prop})`, fn: 'sum', event: settings!.monetary.event, prop: settings!.monetary.prop })
    : -1;
  const values = computeAggregates(dataset, aggregates, now);
  const rfm = needsRfm ? scoreRfm(settings!, now, values[rfmAt[0]], values[rfmAt[1]], values[rfmAt[2]]) : undefined;

  const nullColumn = (): InputColumn => ({ kind: 'number', values: new Float64Array(n).fill(NaN) });
  const columns: InputColumn[] = unique.map((s) => {
    switch (s.kind) {
      case 'aggregate':
        return { kind: 'number', values: values[aggKeys.get(s.key)!] };
      case 'ltv':
        return ltvAt >= 0 ? { kind: 'number', values: values[ltvAt] } : nullColumn();
      case 'clv': {
        const v = options.clvProvider?.(s, dataset, now);
        return v ? { kind: 'number', values: v } : nullColumn();
      }
      case 'rfm': {
        if (!rfm) return s.field === 'segment' ? { kind: 'string', codes: new Int8Array(n).fill(-1), labels: RFM_SEGMENTS } : nullColumn();
        if (s.field === 'segment') return { kind: 'string', codes: rfm.segment, labels: RFM_SEGMENTS };
        const out = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const r = rfm.r[i];
          out[i] = r === 0 ? NaN : s.field === 'r' ? r : s.field === 'f' ? rfm.f[i] : s.field === 'm' ? rfm.m[i] : 100 * r + 10 * rfm.f[i] + rfm.m[i];
        }
        return { kind: 'number', values: out };
      }
    }
  });

  return {
    now,
    customerCount: n,
    specs: unique,
    columns,
    rfm,
    column: (key) => {
      const k = index.get(key);
      return k === undefined ? undefined : columns[k];
    },
    value: (key, i) => {
      const k = index.get(key);
      return k === undefined ? null : columnValue(columns[k], i);
    },
    bind: (wanted) => {
      const cols = wanted.map((s) => {
        const k = index.get(s.key);
        if (k === undefined) throw new Error(`input ${s.key} was not computed; pass it to computeInputs`);
        return columns[k];
      });
      return (i, out) => {
        out.length = cols.length;
        for (let q = 0; q < cols.length; q++) out[q] = columnValue(cols[q], i);
        return out;
      };
    },
  };
}
