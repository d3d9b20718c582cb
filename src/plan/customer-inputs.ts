// One customer's expression inputs at one instant, straight from the columnar dataset. The plan needs
// them per customer at many instants (every event and refresh tick), so this reads the customer's CSR
// rows with binary searches instead of a population-wide pass.
import { upperBound, type Dataset, type EventTable } from '../dataset/dataset.js';
import type { AggregateInput, InputSpec, InputValue, RfmInput } from '../model/inputs.js';

/** Population-level values held fixed over the plan window (RFM quintile boundaries, CLV fit). */
export interface DerivedProvider {
  rfm?(customer: number, spec: RfmInput, now: number): InputValue;
  clv?(customer: number, key: string): InputValue;
}

export class CustomerInputs {
  private readonly propsScratch: Record<string, unknown> = {};

  constructor(
    private readonly dataset: Dataset,
    private readonly derived: DerivedProvider = {},
  ) {}

  fill(customer: number, specs: readonly InputSpec[], now: number, out: InputValue[] = new Array<InputValue>(specs.length)): InputValue[] {
    for (let k = 0; k < specs.length; k++) out[k] = this.value(customer, specs[k], now);
    return out;
  }

  value(customer: number, spec: InputSpec, now: number): InputValue {
    switch (spec.kind) {
      case 'aggregate':
        return this.aggregate(customer, spec, now);
      case 'ltv': {
        const m = this.dataset.model.rfm?.monetary;
        if (!m) return null;
        return this.aggregate(customer, { kind: 'aggregate', key: 'ltv', fn: 'sum', event: m.event, prop: m.prop }, now);
      }
      case 'rfm':
        return this.derived.rfm ? this.derived.rfm(customer, spec, now) : null;
      case 'clv':
        return this.derived.clv ? this.derived.clv(customer, spec.key) : null;
    }
  }

  /** Rows of `table` for `customer` with ts in (now - within, now] (all history up to now without within). */
  rows(table: EventTable, customer: number, now: number, withinMs?: number): [number, number] {
    const s = table.offsets[customer];
    const e = table.offsets[customer + 1];
    const hi = upperBound(table.ts, s, e, now);
    const lo = withinMs === undefined ? s : upperBound(table.ts, s, hi, now - withinMs);
    return [lo, hi];
  }

  private aggregate(customer: number, spec: AggregateInput, now: number): InputValue {
    const table = this.dataset.eventTable(spec.event);
    const zero = spec.fn === 'count' || spec.fn === 'sum' || spec.fn === 'distinct' ? 0 : null;
    if (!table) return zero;
    const [lo, hi] = this.rows(table, customer, now, spec.withinMs);
    if (lo >= hi) return zero;
    const where = spec.where;
    const matches = (row: number) => {
      if (!where) return true;
      return where.test(this.dataset.eventProps(table, row, where.props, this.propsScratch));
    };
    switch (spec.fn) {
      case 'count': {
        if (!where) return hi - lo;
        let n = 0;
        for (let r = lo; r < hi; r++) if (matches(r)) n++;
        return n;
      }
      case 'first':
        for (let r = lo; r < hi; r++) if (matches(r)) return table.ts[r];
        return null;
      case 'last':
        for (let r = hi - 1; r >= lo; r--) if (matches(r)) return table.ts[r];
        return null;
      case 'distinct': {
        const seen = new Set<string>();
        for (let r = lo; r < hi; r++) {
          if (!matches(r)) continue;
          const v = this.dataset.eventProps(table, r, [spec.prop!])[spec.prop!];
          if (v !== null && v !== undefined) seen.add(JSON.stringify(v));
        }
        return seen.size;
      }
      case 'sum':
      case 'avg':
      case 'min':
      case 'max': {
        const col = table.props.get(spec.prop!);
        if (!col || col.kind !== 'number') return zero;
        let n = 0;
        let sum = 0;
        let min = Infinity;
        let max = -Infinity;
        for (let r = lo; r < hi; r++) {
          const v = col.values[r];
          if (Number.isNaN(v) || !matches(r)) continue;
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
