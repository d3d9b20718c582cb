// The in-memory, columnar dataset (see README.md in this folder). Customers are columns indexed 0..N-1.
// Events are split by type; each type is a table in CSR form: rows of customer i are
// [offsets[i], offsets[i+1]), sorted by time, with one typed array per prop. No object per event exists
// unless a caller materialises one (`eventProps`, `recentEvents`).
import type { DataModel, EventDef, FieldDef } from '../model/data-model.js';
import { ByteStringPool } from './byte-strings.js';
import type { StringArena } from './byte-strings.js';

export type AttributeColumn =
  /** Empty string and missing are both null. */
  | { kind: 'string'; field: FieldDef; values: StringArena }
  /** number, timestamp (epoch ms) and duration (ms); NaN is null. */
  | { kind: 'number'; field: FieldDef; values: Float64Array }
  /** 1 true, 0 false, -1 null. */
  | { kind: 'bool'; field: FieldDef; values: Int8Array }
  /** Lists are rare on profiles; kept as JS arrays. */
  | { kind: 'list'; field: FieldDef; values: (unknown[] | null)[] };

export type PropColumn =
  /** number, timestamp, duration; NaN is missing. */
  | { kind: 'number'; field: FieldDef; values: Float64Array }
  /** Codes into `Dataset.strings`; -1 is missing. */
  | { kind: 'string'; field: FieldDef; codes: Int32Array }
  /** 1 true, 0 false, -1 missing. */
  | { kind: 'bool'; field: FieldDef; values: Int8Array }
  /**
   * Row r's items are items[offsets[r], offsets[r+1]): string codes (Int32Array) or numbers (Float64Array,
   * bools as 1/0). present[r] is 0 for a missing list.
   */
  | {
      kind: 'list';
      field: FieldDef;
      element: 'string' | 'number' | 'bool';
      offsets: Int32Array;
      items: Int32Array | Float64Array;
      present: Uint8Array;
    };

export interface EventTable {
  name: string;
  /** Index in `Dataset.eventTables`. */
  id: number;
  def: EventDef;
  count: number;
  /** Length customers + 1. */
  offsets: Int32Array;
  /** Epoch ms, ascending within each customer. */
  ts: Float64Array;
  /** Position of the event in the whole dataset's time order (ties keep file order). */
  seq: Int32Array;
  props: Map<string, PropColumn>;
}

export interface CustomerTable {
  count: number;
  /** Customer ids; the code of an id is the customer's index. */
  ids: ByteStringPool;
  columns: Map<string, AttributeColumn>;
}

export interface Product {
  id: string;
  name: string | null;
  price: number | null;
  category: string | null;
  url: string | null;
  image: string | null;
}

export interface EventRecord {
  type: string;
  ts: number;
  props: Record<string, unknown>;
}

/** Events in time order: parallel arrays (type id, row in that type's table, customer, ts). */
export interface Timeline {
  count: number;
  type: Uint16Array;
  row: Int32Array;
  customer: Int32Array;
  ts: Float64Array;
}

export class Dataset {
  readonly eventCount: number;
  private readonly tablesByName: Map<string, EventTable>;
  private readonly productsById: Map<string, Product>;

  constructor(
    readonly model: DataModel,
    readonly customers: CustomerTable,
    /** One table per declared event type, in declaration order. */
    readonly eventTables: readonly EventTable[],
    /** Dictionary of all string prop values (shared across types, so product ids join). */
    readonly strings: ByteStringPool,
    readonly products: readonly Product[],
  ) {
    this.eventCount = eventTables.reduce((n, t) => n + t.count, 0);
    this.tablesByName = new Map(eventTables.map((t) => [t.name, t]));
    this.productsById = new Map(products.map((p) => [p.id, p]));
  }

  get customerCount(): number {
    return this.customers.count;
  }

  /** First and last event timestamps, or undefined when there are no events. */
  get timeRange(): { first: number; last: number } | undefined {
    let first = Infinity;
    let last = -Infinity;
    for (const t of this.eventTables) {
      const { ts, offsets } = t;
      for (let i = 0; i < this.customers.count; i++) {
        const s = offsets[i];
        const e = offsets[i + 1];
        if (s === e) continue;
        if (ts[s] < first) first = ts[s];
        if (ts[e - 1] > last) last = ts[e - 1];
      }
    }
    return first === Infinity ? undefined : { first, last };
  }

  eventTable(type: string): EventTable | undefined {
    return this.tablesByName.get(type);
  }

  /** Index of a customer id, or -1. */
  customerIndex(id: string): number {
    return this.customers.ids.findString(id);
  }

  customerId(i: number): string {
    return this.customers.ids.get(i);
  }

  /** The profile of customer i: attribute values by name (null when missing); `names` limits the work. */
  profile(i: number, names?: readonly string[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const cols = this.customers.columns;
    if (names) {
      for (const name of names) {
        const col = cols.get(name);
        out[name] = col ? attributeValue(col, i) : null;
      }
    } else {
      for (const [name, col] of cols) out[name] = attributeValue(col, i);
    }
    return out;
  }

  /** Props of one event (row of a type's table) as a plain object; `names` limits the work. */
  eventProps(table: EventTable, row: number, names?: readonly string[], into?: Record<string, unknown>): Record<string, unknown> {
    const out = into ?? {};
    if (names) {
      for (const name of names) {
        const col = table.props.get(name);
        out[name] = col ? propValue(col, row, this.strings) : null;
      }
    } else {
      for (const [name, col] of table.props) out[name] = propValue(col, row, this.strings);
    }
    return out;
  }

  /** The n most recent events of a type for customer i (at or before `now` when given), newest first. */
  recentEvents(customer: number, type: string, n: number, now = Infinity): EventRecord[] {
    const table = this.tablesByName.get(type);
    if (!table) return [];
    const out: EventRecord[] = [];
    const s = table.offsets[customer];
    let j = upperBound(table.ts, s, table.offsets[customer + 1], now) - 1;
    for (; j >= s && out.length < n; j--) out.push({ type, ts: table.ts[j], props: this.eventProps(table, j) });
    return out;
  }

  product(id: string): Product | undefined {
    return this.productsById.get(id);
  }

  /** All events with from < ts <= to, in time order (ties in file order). */
  timeline(from = -Infinity, to = Infinity): Timeline {
    // One walk over the customers collects each event in range as a 32-byte record (ts, type, row,
    // customer) and its seq; a window is usually the recent end of each customer's rows, walked back
    // from `to`.
    let rec = new Float64Array(4 * 1024);
    let seqs = new Int32Array(1024);
    let n = 0;
    let minSeq = Infinity;
    let maxSeq = -Infinity;
    for (const t of this.eventTables) {
      const { ts, seq, offsets } = t;
      for (let i = 0; i < this.customers.count; i++) {
        const s = offsets[i];
        const hi = upperBound(ts, s, offsets[i + 1], to);
        for (let j = hi - 1; j >= s && ts[j] > from; j--) {
          if (n === seqs.length) {
            const grown = new Float64Array(rec.length * 2);
            grown.set(rec);
            rec = grown;
            const grownSeqs = new Int32Array(seqs.length * 2);
            grownSeqs.set(seqs);
            seqs = grownSeqs;
          }
          const r = 4 * n;
          rec[r] = ts[j];
          rec[r + 1] = t.id;
          rec[r + 2] = j;
          rec[r + 3] = i;
          const q = seq[j];
          seqs[n++] = q;
          if (q < minSeq) minSeq = q;
          if (q > maxSeq) maxSeq = q;
        }
      }
    }
    const out: Timeline = {
      count: n,
      type: new Uint16Array(n),
      row: new Int32Array(n),
      customer: new Int32Array(n),
      ts: new Float64Array(n),
    };
    if (n === 0) return out;
    // seq is a permutation of 0..eventCount-1, so the events in range sort by direct placement; reading
    // a record back costs one cache miss per event, not one per field.
    const slot = new Int32Array(maxSeq - minSeq + 1).fill(-1);
    for (let k = 0; k < n; k++) slot[seqs[k] - minSeq] = k;
    let w = 0;
    for (let q = 0; q < slot.length; q++) {
      const src = slot[q];
      if (src < 0) continue;
      const r = 4 * src;
      out.ts[w] = rec[r];
      out.type[w] = rec[r + 1];
      out.row[w] = rec[r + 2];
      out.customer[w] = rec[r + 3];
      w++;
    }
    return out;
  }
}

/** First index in [lo, hi) whose value is > x (values ascending). */
export function upperBound(values: Float64Array, lo: number, hi: number, x: number): number {
  if (hi > lo && values[hi - 1] <= x) return hi;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function attributeValue(col: AttributeColumn, i: number): unknown {
  switch (col.kind) {
    case 'string':
      return col.values.get(i);
    case 'number': {
      const v = col.values[i];
      return Number.isNaN(v) ? null : v;
    }
    case 'bool': {
      const v = col.values[i];
      return v < 0 ? null : v === 1;
    }
    case 'list':
      return col.values[i];
  }
}

export function propValue(col: PropColumn, row: number, strings: ByteStringPool): unknown {
  switch (col.kind) {
    case 'number': {
      const v = col.values[row];
      return Number.isNaN(v) ? null : v;
    }
    case 'string': {
      const c = col.codes[row];
      return c < 0 ? null : strings.get(c);
    }
    case 'bool': {
      const v = col.values[row];
      return v < 0 ? null : v === 1;
    }
    case 'list': {
      if (col.present[row] === 0) return null;
      const out: unknown[] = [];
      for (let k = col.offsets[row]; k < col.offsets[row + 1]; k++) {
        const v = col.items[k];
        out.push(col.element === 'string' ? strings.get(v) : col.element === 'bool' ? v === 1 : v);
      }
      return out;
    }
  }
}

export { ByteStringPool };
