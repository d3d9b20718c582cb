// One customer's expression inputs at one instant, straight from the columnar dataset. The plan needs
// them per customer at many instants (every event and refresh tick), so this reads the customer's CSR
// rows with binary searches instead of a population-wide pass. Where the plan asks about everyone at one
// instant (the audiences and the first refresh tick at `now`, scheduled entries), a population-wide pass
// for that instant is taken once (`snapshot`) and read instead.
import { computeAggregates } from '../dataset/aggregate-pass.js';
import { upperBound, type Dataset, type EventTable } from '../dataset/dataset.js';
import type { AggregateInput, InputSpec, InputValue, RfmInput } from '../model/inputs.js';

/** Population-level values held fixed over the plan window (RFM quintile boundaries, CLV fit). */
export interface DerivedProvider {
  rfm?(customer: number, spec: RfmInput, now: number): InputValue;
  clv?(customer: number, key: string): InputValue;
}

/** An aggregate spec resolved against the dataset once. */
interface Accessor {
  spec: AggregateInput;
  table: EventTable | undefined;
  numbers: Float64Array | undefined;
  /** Per row of the table: 0 not tested yet, 1 passes `where`, 2 does not. */
  passes: Uint8Array | undefined;
}

export class CustomerInputs {
  private readonly propsScratch: Record<string, unknown> = {};
  private readonly ltvSpec: AggregateInput | undefined;
  /** Columns (NaN = null) of the aggregates at `snapshotAt`, by input key. */
  private snapshotColumns = new Map<string, Float64Array>();
  /** The instant of the snapshot (NaN: none). */
  snapshotAt = NaN;
  /** Changes with every change of the snapshot, so that callers may keep columns they looked up. */
  snapshotVersion = 0;
  private readonly accessors = new Map<AggregateInput, Accessor>();

  constructor(
    private readonly dataset: Dataset,
    private readonly derived: DerivedProvider = {},
  ) {
    const m = dataset.model.rfm?.monetary;
    if (m) this.ltvSpec = { kind: 'aggregate', key: 'ltv', fn: 'sum', event: m.event, prop: m.prop };
  }

  /**
   * Computes `specs` for every customer at `at` in one columnar pass; `value` at that instant reads them.
   * A snapshot at another instant replaces the previous one; at the same instant columns are added.
   */
  snapshot(specs: readonly InputSpec[], at: number): void {
    if (at !== this.snapshotAt) {
      this.snapshotColumns = new Map();
      this.snapshotAt = at;
      this.snapshotVersion++;
    }
    const wanted: AggregateInput[] = [];
    const keys: string[] = [];
    for (const spec of specs) {
      if (this.snapshotColumns.has(spec.key) || keys.includes(spec.key)) continue;
      const agg = spec.kind === 'aggregate' ? spec : spec.kind === 'ltv' ? this.ltvSpec : undefined;
      // distinct counts lists as whole values here and item by item in the columnar pass: keep it per customer.
      if (!agg || agg.fn === 'distinct') continue;
      wanted.push(agg);
      keys.push(spec.key);
    }
    if (wanted.length === 0) return;
    const columns = computeAggregates(this.dataset, wanted, at);
    keys.forEach((key, k) => this.snapshotColumns.set(key, columns[k]));
    this.snapshotVersion++;
  }

  /** The snapshot's column of each spec, or undefined where `value` must be asked. */
  snapshotColumnsOf(specs: readonly InputSpec[]): (Float64Array | undefined)[] {
    return specs.map((spec) => this.snapshotColumns.get(spec.key));
  }

  /** Whether NaN in the spec's snapshot column means null (no event) rather than "ask `value`". */
  static nanIsNull(spec: InputSpec): boolean {
    return spec.kind === 'aggregate' && (spec.fn === 'first' || spec.fn === 'last');
  }

  fill(customer: number, specs: readonly InputSpec[], now: number, out: InputValue[] = new Array<InputValue>(specs.length)): InputValue[] {
    for (let k = 0; k < specs.length; k++) out[k] = this.value(customer, specs[k], now);
    return out;
  }

  value(customer: number, spec: InputSpec, now: number): InputValue {
    // Snapshots hold aggregates only (RFM and CLV are columns of their own, fixed over the window).
    if (now === this.snapshotAt && (spec.kind === 'aggregate' || spec.kind === 'ltv')) {
      const column = this.snapshotColumns.get(spec.key);
      if (column !== undefined) {
        const v = column[customer];
        if (v === v) return v;
        // NaN is "no event" for first/last; elsewhere it may also stand for infinities, which are recomputed.
        if (CustomerInputs.nanIsNull(spec)) return null;
      }
    }
    switch (spec.kind) {
      case 'aggregate':
        return this.aggregate(customer, spec, now);
      case 'ltv':
        return this.ltvSpec ? this.aggregate(customer, this.ltvSpec, now) : null;
      case 'rfm':
        return this.derived.rfm ? this.derived.rfm(customer, spec, now) : null;
      case 'clv':
        return this.derived.clv ? this.derived.clv(customer, spec.key) : null;
    }
  }

  /** Whether row `row` of the spec's table passes its `where`; each row's answer is kept (a pure predicate). */
  private matches(a: Accessor, row: number): boolean {
    const where = a.spec.where;
    if (where === undefined) return true;
    const known = a.passes![row];
    if (known !== 0) return known === 1;
    const ok = where.test(this.dataset.eventProps(a.table!, row, where.props, this.propsScratch));
    a.passes![row] = ok ? 1 : 2;
    return ok;
  }

  private accessor(spec: AggregateInput): Accessor {
    let a = this.accessors.get(spec);
    if (a === undefined) {
      const table = this.dataset.eventTable(spec.event);
      const col = spec.prop === undefined ? undefined : table?.props.get(spec.prop);
      a = { spec, table, numbers: col?.kind === 'number' ? col.values : undefined, passes: spec.where && table ? new Uint8Array(table.count) : undefined };
      this.accessors.set(spec, a);
    }
    return a;
  }

  private aggregate(customer: number, spec: AggregateInput, now: number): InputValue {
    const a = this.accessor(spec);
    const table = a.table;
    const zero = spec.fn === 'count' || spec.fn === 'sum' || spec.fn === 'distinct' ? 0 : null;
    if (!table) return zero;
    // Rows with ts in (now - within, now] (all history up to now without within).
    const ts = table.ts;
    const s = table.offsets[customer];
    const hi = upperBound(ts, s, table.offsets[customer + 1], now);
    const lo = spec.withinMs === undefined ? s : upperBound(ts, s, hi, now - spec.withinMs);
    if (lo >= hi) return zero;
    const where = spec.where;
    switch (spec.fn) {
      case 'count': {
        if (!where) return hi - lo;
        let n = 0;
        for (let r = lo; r < hi; r++) if (this.matches(a, r)) n++;
        return n;
      }
      case 'first':
        for (let r = lo; r < hi; r++) if (this.matches(a, r)) return ts[r];
        return null;
      case 'last':
        for (let r = hi - 1; r >= lo; r--) if (this.matches(a, r)) return ts[r];
        return null;
      case 'distinct': {
        const seen = new Set<string>();
        for (let r = lo; r < hi; r++) {
          if (!this.matches(a, r)) continue;
          const v = this.dataset.eventProps(table, r, [spec.prop!])[spec.prop!];
          if (v !== null && v !== undefined) seen.add(JSON.stringify(v));
        }
        return seen.size;
      }
      case 'sum':
      case 'avg':
      case 'min':
      case 'max': {
        const values = a.numbers;
        if (!values) return zero;
        let n = 0;
        let sum = 0;
        let min = Infinity;
        let max = -Infinity;
        for (let r = lo; r < hi; r++) {
          const v = values[r];
          if (Number.isNaN(v) || !this.matches(a, r)) continue;
          n++;
          sum += v;
          if (v < min) min = v;
          if (v > max) max = v;
        }
        if (spec.fn === 'sum') return sum;
        if (n === 0) return null;
        return spec.fn === 'avg' ? sum / n : spec.fn === 'min' ? min : max;
      }
    }
  }
}
