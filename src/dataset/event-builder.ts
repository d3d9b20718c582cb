// Accumulates the rows of one event type while a file is read: customer index, ts, file sequence and one
// growable column per declared prop. A row's props are first staged and only committed when the whole row
// is valid, so a bad row never leaves half a row behind. `parseJsonProps` scans the props JSON object
// straight from the file's bytes (JSON.parse per row would cost ~1µs, more than the rest of the row).
// Longer than our ~400-line habit on purpose: one class with three staging entry points (JSON bytes, CSV
// text, parsed NDJSON values) that must apply the same typing rules, so they stay side by side.
import type { EventDef, FieldDef, FieldType } from '../model/data-model.js';
import type { ByteStringPool } from './byte-strings.js';
import { growF64, growI32, growI8, growU8, type GrowF64, type GrowI32, type GrowI8, type GrowU8 } from './growable.js';
import { bytesEqual, decodeJsonString, hasBackslash, isLiteral, isWs, Q, scanBare, scanString, skipValue, utf8 } from './json-bytes.js';
import { parseDuration, parseNumberBytes, parseTimestamp, parseTimestampBytes } from './parse-scalars.js';

export const enum PropKind {
  Number = 0,
  Timestamp = 1,
  String = 2,
  Bool = 3,
  ListString = 4,
  ListNumber = 5,
  ListBool = 6,
  ListTimestamp = 7,
  Duration = 8,
}

export function propKindOf(type: FieldType): PropKind {
  switch (type) {
    case 'number':
      return PropKind.Number;
    case 'duration':
      return PropKind.Duration;
    case 'timestamp':
      return PropKind.Timestamp;
    case 'string':
      return PropKind.String;
    case 'bool':
      return PropKind.Bool;
    case 'list<string>':
      return PropKind.ListString;
    case 'list<number>':
      return PropKind.ListNumber;
    case 'list<bool>':
      return PropKind.ListBool;
    case 'list<timestamp>':
      return PropKind.ListTimestamp;
  }
}

/** A problem in one row's props; `offset` is a byte offset into the scanned text. */
export interface PropProblem {
  code: 'HER5035' | 'HER5036' | 'HER5037';
  message: string;
  offset: number;
}

interface PropSlot {
  field: FieldDef;
  kind: PropKind;
  key: Uint8Array;
  num: GrowF64 | undefined;
  code: GrowI32 | undefined;
  bool: GrowI8 | undefined;
  listOffsets: GrowI32 | undefined;
  listCodes: GrowI32 | undefined;
  listNums: GrowF64 | undefined;
  listPresent: GrowU8 | undefined;
}

export class EventTypeBuilder {
  readonly cust = growI32();
  readonly ts = growF64();
  readonly seq = growI32();
  readonly slots: PropSlot[];
  private readonly byName = new Map<string, number>();
  // staging for the current row
  private readonly state: Uint8Array;
  private readonly stagedNum: Float64Array;
  private readonly stagedCode: Int32Array;
  private readonly stagedList: number[][];
  problem: PropProblem | undefined;
  /** 1 while parsing CSV-escaped JSON (quotes doubled), else 0. */
  private dq = 0;
  /** Undeclared props met in the current row (reported as warnings; the row is kept). */
  unknown: PropProblem[] = [];

  constructor(
    readonly id: number,
    readonly def: EventDef,
    private readonly strings: ByteStringPool,
  ) {
    this.slots = [...def.props.values()].map((field, p) => {
      this.byName.set(field.name, p);
      const kind = propKindOf(field.type);
      // Every slot has every key (same hidden class), so the per-row loops stay monomorphic.
      const slot: PropSlot = {
        field,
        kind,
        key: new Uint8Array(Buffer.from(field.name, 'utf8')),
        num: undefined,
        code: undefined,
        bool: undefined,
        listOffsets: undefined,
        listCodes: undefined,
        listNums: undefined,
        listPresent: undefined,
      };
      if (kind === PropKind.Number || kind === PropKind.Timestamp || kind === PropKind.Duration) slot.num = growF64();
      else if (kind === PropKind.String) slot.code = growI32();
      else if (kind === PropKind.Bool) slot.bool = growI8();
      else {
        slot.listOffsets = growI32();
        slot.listOffsets.push(0);
        slot.listPresent = growU8();
        if (kind === PropKind.ListString) slot.listCodes = growI32();
        else slot.listNums = growF64();
      }
      return slot;
    });
    const n = this.slots.length;
    this.state = new Uint8Array(n);
    this.stagedNum = new Float64Array(n);
    this.stagedCode = new Int32Array(n);
    this.stagedList = this.slots.map(() => []);
  }

  get count(): number {
    return this.ts.length;
  }

  propIndex(name: string): number {
    return this.byName.get(name) ?? -1;
  }

  /** Clears the staged row (call before staging a new row). */
  reset(): void {
    const state = this.state;
    for (let p = 0; p < state.length; p++) state[p] = 0;
    this.problem = undefined;
    if (this.unknown.length > 0) this.unknown = [];
  }

  commit(customer: number, ts: number, seq: number): void {
    this.cust.push(customer);
    this.ts.push(ts);
    this.seq.push(seq);
    const slots = this.slots;
    for (let p = 0; p < slots.length; p++) {
      const slot = slots[p];
      const has = this.state[p] === 1;
      switch (slot.kind) {
        case PropKind.Number:
        case PropKind.Timestamp:
        case PropKind.Duration:
          slot.num!.push(has ? this.stagedNum[p] : NaN);
          break;
        case PropKind.String:
          slot.code!.push(has ? this.stagedCode[p] : -1);
          break;
        case PropKind.Bool:
          slot.bool!.push(has ? this.stagedNum[p] : -1);
          break;
        default: {
          const items = this.stagedList[p];
          if (has) {
            if (slot.listCodes) for (const v of items) slot.listCodes.push(v);
            else for (const v of items) slot.listNums!.push(v);
          }
          slot.listPresent!.push(has ? 1 : 0);
          slot.listOffsets!.push(slot.listCodes ? slot.listCodes.length : slot.listNums!.length);
          items.length = 0;
        }
      }
    }
  }

  private fail(code: PropProblem['code'], message: string, offset: number): false {
    this.problem ??= { code, message, offset };
    return false;
  }

  private typeError(p: number, buf: Uint8Array, s: number, e: number): false {
    const slot = this.slots[p];
    let got = e - s > 40 ? `${utf8(buf, s, s + 40)}…` : utf8(buf, s, e);
    if (this.dq) got = got.replace(/""/g, '"');
    return this.fail(
      'HER5036',
      `prop "${slot.field.name}" of ${this.def.name} must be ${describe(slot.field.type)}, got ${got}`,
      s,
    );
  }

  /**
   * Stages the props of a JSON object held in buf[s, e). Returns false (with `problem` set) when the object
   * is malformed or a declared prop has the wrong type.
   */
  parseJsonProps(buf: Uint8Array, s: number, e: number, csvEscaped = false): boolean {
    const dq = csvEscaped ? 1 : 0;
    this.dq = dq;
    let i = s;
    while (i < e && isWs(buf[i])) i++;
    if (i === e) return true; // an empty props field means no props
    if (buf[i] !== 123) return this.fail('HER5035', `props must be a JSON object`, i);
    i++;
    for (;;) {
      while (i < e && isWs(buf[i])) i++;
      if (i >= e) return this.fail('HER5035', 'props: unterminated JSON object', i);
      if (buf[i] === 125) {
        i++;
        break;
      }
      if (buf[i] !== Q) return this.fail('HER5035', 'props: expected a quoted key', i);
      const ks = i + 1 + dq;
      const kEnd = scanString(buf, i, e, dq);
      if (kEnd < 0) return this.fail('HER5035', 'props: unterminated string', i);
      const ke = kEnd - 1 - dq;
      i = kEnd;
      while (i < e && isWs(buf[i])) i++;
      if (buf[i] !== 58) return this.fail('HER5035', "props: expected ':' after a key", i);
      i++;
      while (i < e && isWs(buf[i])) i++;
      if (i >= e) return this.fail('HER5035', 'props: missing value', i);
      let p = -1;
      const slots = this.slots;
      for (let k = 0; k < slots.length; k++) {
        if (bytesEqual(buf, ks, ke, slots[k].key)) {
          p = k;
          break;
        }
      }
      if (p < 0) {
        const vEnd = skipValue(buf, i, e, dq);
        if (vEnd < 0) return this.fail('HER5035', 'props: malformed JSON value', i);
        this.unknown.push({
          code: 'HER5037',
          message: `prop "${utf8(buf, ks, ke)}" is not declared for event type ${this.def.name} (ignored)`,
          offset: ks - 1 - dq,
        });
        i = vEnd;
      } else {
        i = this.stageJsonValue(p, buf, i, e);
        if (i < 0) return false;
      }
      while (i < e && isWs(buf[i])) i++;
      if (buf[i] === 44) {
        i++;
        continue;
      }
      if (buf[i] === 125) {
        i++;
        break;
      }
      return this.fail('HER5035', "props: expected ',' or '}'", i);
    }
    while (i < e && isWs(buf[i])) i++;
    if (i !== e) return this.fail('HER5035', 'props: text after the JSON object', i);
    return true;
  }

  /** Stages one JSON value for prop p; returns the index after it, or -1. */
  private stageJsonValue(p: number, buf: Uint8Array, i: number, e: number): number {
    const kind = this.slots[p].kind;
    const c = buf[i];
    if (c === 91) {
      if (kind < PropKind.ListString || kind > PropKind.ListTimestamp) {
        const end = skipValue(buf, i, e, this.dq);
        this.typeError(p, buf, i, end < 0 ? e : end);
        return -1;
      }
      const items = this.stagedList[p];
      items.length = 0;
      i++;
      for (;;) {
        while (i < e && isWs(buf[i])) i++;
        if (buf[i] === 93) {
          i++;
          break;
        }
        const vs = i;
        const ve = buf[i] === Q ? scanString(buf, i, e, this.dq) : scanBare(buf, i, e);
        if (ve < 0 || ve === vs) {
          this.fail('HER5035', 'props: malformed JSON array', i);
          return -1;
        }
        const v = this.scalar(listElement(kind), buf, vs, ve);
        if (Number.isNaN(v)) {
          this.typeError(p, buf, vs, ve);
          return -1;
        }
        items.push(v);
        i = ve;
        while (i < e && isWs(buf[i])) i++;
        if (buf[i] === 44) {
          i++;
          continue;
        }
        if (buf[i] === 93) {
          i++;
          break;
        }
        this.fail('HER5035', 'props: malformed JSON array', i);
        return -1;
      }
      this.state[p] = 1;
      return i;
    }
    if (c === 123) {
      const end = skipValue(buf, i, e, this.dq);
      this.typeError(p, buf, i, end < 0 ? e : end);
      return -1;
    }
    const ve = c === Q ? scanString(buf, i, e, this.dq) : scanBare(buf, i, e);
    if (ve < 0 || ve === i) {
      this.fail('HER5035', 'props: malformed JSON value', i);
      return -1;
    }
    if (isLiteral(buf, i, ve, 'null')) return ve; // null = missing
    if (kind >= PropKind.ListString && kind <= PropKind.ListTimestamp) {
      this.typeError(p, buf, i, ve);
      return -1;
    }
    const v = this.scalar(kind, buf, i, ve);
    if (Number.isNaN(v)) {
      this.typeError(p, buf, i, ve);
      return -1;
    }
    this.state[p] = 1;
    if (kind === PropKind.String) this.stagedCode[p] = v;
    else this.stagedNum[p] = v;
    return ve;
  }

  /**
   * A scalar JSON token in buf[s, e) (strings with their quotes) as the stored number: the value for
   * numbers and timestamps, the dictionary code for strings, 1/0 for bools. NaN when of the wrong type.
   */
  private scalar(kind: PropKind, buf: Uint8Array, s: number, e: number): number {
    const quoted = buf[s] === Q;
    const dq = this.dq;
    switch (kind) {
      case PropKind.Number:
        return quoted ? NaN : parseNumberBytes(buf, s, e);
      case PropKind.Duration:
        return quoted ? parseDuration(decodeJsonString(buf, s, e, dq)) : parseNumberBytes(buf, s, e);
      case PropKind.Timestamp:
        if (!quoted) return parseNumberBytes(buf, s, e);
        return hasBackslash(buf, s + 1 + dq, e - 1 - dq)
          ? parseTimestamp(decodeJsonString(buf, s, e, dq))
          : parseTimestampBytes(buf, s + 1 + dq, e - 1 - dq);
      case PropKind.String:
        if (!quoted) {
          // A bare number for a string prop (order ids exported as numbers) is kept as its text.
          return Number.isNaN(parseNumberBytes(buf, s, e)) ? NaN : this.strings.intern(buf, s, e);
        }
        return hasBackslash(buf, s + 1 + dq, e - 1 - dq)
          ? this.strings.internString(decodeJsonString(buf, s, e, dq))
          : this.strings.intern(buf, s + 1 + dq, e - 1 - dq);
      case PropKind.Bool:
        return isLiteral(buf, s, e, 'true') ? 1 : isLiteral(buf, s, e, 'false') ? 0 : NaN;
      default:
        return NaN;
    }
  }

  /** Stages a prop from CSV column text (lists as JSON arrays). Returns false with `problem` set. */
  stageText(p: number, buf: Uint8Array, s: number, e: number): boolean {
    if (s === e) return true;
    const kind = this.slots[p].kind;
    let v: number;
    switch (kind) {
      case PropKind.Number:
        v = parseNumberBytes(buf, s, e);
        break;
      case PropKind.Duration:
        v = parseDuration(utf8(buf, s, e));
        break;
      case PropKind.Timestamp:
        v = parseTimestampBytes(buf, s, e);
        break;
      case PropKind.String:
        v = this.strings.intern(buf, s, e);
        break;
      case PropKind.Bool: {
        const t = utf8(buf, s, e).toLowerCase();
        v = t === 'true' || t === '1' ? 1 : t === 'false' || t === '0' ? 0 : NaN;
        break;
      }
      default: {
        let parsed: unknown;
        try {
          parsed = JSON.parse(utf8(buf, s, e));
        } catch {
          return this.typeError(p, buf, s, e);
        }
        if (!this.stageValue(p, parsed)) {
          if (this.problem) this.problem.offset = s;
          return false;
        }
        return true;
      }
    }
    if (Number.isNaN(v)) return this.typeError(p, buf, s, e);
    this.state[p] = 1;
    if (kind === PropKind.String) this.stagedCode[p] = v;
    else this.stagedNum[p] = v;
    return true;
  }

  /** Stages a prop from a parsed JSON value (NDJSON). Returns false with `problem` set (offset 0). */
  stageValue(p: number, value: unknown): boolean {
    if (value === null || value === undefined) return true;
    const slot = this.slots[p];
    const kind = slot.kind;
    if (kind >= PropKind.ListString && kind <= PropKind.ListTimestamp) {
      if (!Array.isArray(value)) return this.valueTypeError(p, value);
      const items = this.stagedList[p];
      items.length = 0;
      const el = kind === PropKind.ListString ? PropKind.String : listElement(kind);
      for (const item of value) {
        const v = this.jsValue(el, item);
        if (Number.isNaN(v)) return this.valueTypeError(p, value);
        items.push(v);
      }
      this.state[p] = 1;
      return true;
    }
    const v = this.jsValue(kind, value);
    if (Number.isNaN(v)) return this.valueTypeError(p, value);
    this.state[p] = 1;
    if (kind === PropKind.String) this.stagedCode[p] = v;
    else this.stagedNum[p] = v;
    return true;
  }

  private jsValue(kind: PropKind, value: unknown): number {
    switch (kind) {
      case PropKind.Number:
        return typeof value === 'number' && Number.isFinite(value) ? value : NaN;
      case PropKind.Duration:
        return typeof value === 'number' ? value : typeof value === 'string' ? parseDuration(value) : NaN;
      case PropKind.Timestamp:
        return typeof value === 'number' ? value : typeof value === 'string' ? parseTimestamp(value) : NaN;
      case PropKind.String:
        if (typeof value === 'string') return this.strings.internString(value);
        return typeof value === 'number' && Number.isFinite(value) ? this.strings.internString(String(value)) : NaN;
      case PropKind.Bool:
        return value === true ? 1 : value === false ? 0 : NaN;
      default:
        return NaN;
    }
  }

  private valueTypeError(p: number, value: unknown): false {
    const slot = this.slots[p];
    const text = JSON.stringify(value) ?? String(value);
    return this.fail(
      'HER5036',
      `prop "${slot.field.name}" of ${this.def.name} must be ${describe(slot.field.type)}, got ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`,
      0,
    );
  }
}

function listElement(kind: PropKind): PropKind {
  switch (kind) {
    case PropKind.ListNumber:
      return PropKind.Number;
    case PropKind.ListBool:
      return PropKind.Bool;
    case PropKind.ListTimestamp:
      return PropKind.Timestamp;
    default:
      return PropKind.String;
  }
}

export function describe(type: FieldType): string {
  switch (type) {
    case 'number':
      return 'a number';
    case 'string':
      return 'a string';
    case 'bool':
      return 'true or false';
    case 'timestamp':
      return 'an ISO-8601 timestamp or epoch milliseconds';
    case 'duration':
      return 'a duration (e.g. 30d) or milliseconds';
    default:
      return `a JSON array (${type})`;
  }
}
