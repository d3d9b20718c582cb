// customers.csv | customers.ndjson → CustomerTable. The id column is the model's customerId; every other
// column must be a declared attribute (others are ignored with a warning). A row without an id, or with an
// id seen before, is skipped; a value of the wrong type becomes null with a diagnostic (the customer stays,
// because dropping them would also drop all their events).
import type { DataModel, FieldDef } from '../model/data-model.js';
import { ByteStringPool, StringArena } from './byte-strings.js';
import { scanCsvFile, type CsvRecord } from './csv-scanner.js';
import type { AttributeColumn, CustomerTable } from './dataset.js';
import { describe } from './event-builder.js';
import { growF64, growI8, type GrowF64, type GrowI8 } from './growable.js';
import { scanLinesFile } from './line-scanner.js';
import { parseBoolText, parseDuration, parseNumberBytes, parseTimestamp, parseTimestampBytes } from './parse-scalars.js';
import { parseJsonLine, type RowProblems } from './row-problems.js';

type ColumnBuilder =
  | { kind: 'string'; field: FieldDef; arena: StringArena }
  | { kind: 'number'; field: FieldDef; values: GrowF64 }
  | { kind: 'bool'; field: FieldDef; values: GrowI8 }
  | { kind: 'list'; field: FieldDef; values: (unknown[] | null)[] };

function columnBuilder(field: FieldDef): ColumnBuilder {
  switch (field.type) {
    case 'string':
      return { kind: 'string', field, arena: new StringArena() };
    case 'number':
    case 'timestamp':
    case 'duration':
      return { kind: 'number', field, values: growF64() };
    case 'bool':
      return { kind: 'bool', field, values: growI8() };
    default:
      return { kind: 'list', field, values: [] };
  }
}

function finishColumn(b: ColumnBuilder): AttributeColumn {
  switch (b.kind) {
    case 'string':
      return { kind: 'string', field: b.field, values: b.arena };
    case 'number':
      return { kind: 'number', field: b.field, values: b.values.finish() };
    case 'bool':
      return { kind: 'bool', field: b.field, values: b.values.finish() };
    case 'list':
      return { kind: 'list', field: b.field, values: b.values };
  }
}

function pushNull(b: ColumnBuilder): void {
  switch (b.kind) {
    case 'string':
      b.arena.pushEmpty();
      break;
    case 'number':
      b.values.push(NaN);
      break;
    case 'bool':
      b.values.push(-1);
      break;
    case 'list':
      b.values.push(null);
  }
}

/** A list value from parsed JSON, or undefined when it does not fit the declared list type. */
export function listValue(type: FieldDef['type'], v: unknown): unknown[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const el = type.slice(5, -1);
  const out: unknown[] = [];
  for (const item of v) {
    if (el === 'string' && typeof item === 'string') out.push(item);
    else if (el === 'number' && typeof item === 'number') out.push(item);
    else if (el === 'bool' && typeof item === 'boolean') out.push(item);
    else if (el === 'timestamp' && (typeof item === 'number' || typeof item === 'string')) {
      const t = typeof item === 'number' ? item : parseTimestamp(item);
      if (Number.isNaN(t)) return undefined;
      out.push(t);
    } else return undefined;
  }
  return out;
}

export function loadCustomers(file: string, format: 'csv' | 'ndjson', model: DataModel, problems: RowProblems): CustomerTable | undefined {
  return format === 'csv' ? loadCustomersCsv(file, model, problems) : loadCustomersNdjson(file, model, problems);
}

function loadCustomersCsv(file: string, model: DataModel, problems: RowProblems): CustomerTable | undefined {
  const ids = new ByteStringPool();
  const builders: ColumnBuilder[] = [...model.attributes.values()].map(columnBuilder);
  /** Field index of each builder in the file, -1 when the column is absent. */
  let fieldOf: number[] = [];
  let idField = -1;
  let width = 0;
  let header = true;
  let fatal = false;
  scanCsvFile(
    file,
    (rec: CsvRecord) => {
      if (header) {
        header = false;
        width = rec.count;
        const names = Array.from({ length: rec.count }, (_, f) => rec.text(f).trim());
        idField = names.indexOf(model.customerId);
        if (idField < 0) {
          problems.fatal('HER5010', { file, line: rec.line, column: 1 }, `customers file has no "${model.customerId}" column (the model's customer id)`, `header: ${names.join(',')}`);
          fatal = true;
          return false;
        }
        fieldOf = builders.map((b) => names.indexOf(b.field.name));
        names.forEach((name, f) => {
          if (f !== idField && !model.attributes.has(name)) {
            problems.warning('HER5011', { file, line: rec.line, column: rec.column(f) }, `column "${name}" is not a declared customer attribute (ignored)`);
          }
        });
        return true;
      }
      const at = (f: number) => ({ file, line: rec.line, column: rec.column(f) });
      if (rec.count !== width) {
        problems.row('HER5012', at(Math.min(rec.count, width)), `expected ${width} fields, found ${rec.count}`);
        return true;
      }
      const is = rec.starts[idField];
      const ie = rec.ends[idField];
      if (ie === is) {
        problems.row('HER5020', at(idField), `customer row without an id ("${model.customerId}" is empty)`);
        return true;
      }
      const before = ids.size;
      const code = ids.intern(rec.buf, is, ie);
      if (code < before) {
        problems.row('HER5021', at(idField), `duplicate customer id "${rec.text(idField)}"`);
        return true;
      }
      for (let k = 0; k < builders.length; k++) {
        const b = builders[k];
        const f = fieldOf[k];
        if (f < 0) {
          pushNull(b);
          continue;
        }
        const s = rec.starts[f];
        const e = rec.ends[f];
        if (b.kind === 'string') {
          b.arena.push(rec.buf, s, e);
          continue;
        }
        if (s === e) {
          pushNull(b);
          continue;
        }
        let ok = true;
        switch (b.kind) {
          case 'number': {
            const type = b.field.type;
            const v =
              type === 'timestamp'
                ? parseTimestampBytes(rec.buf, s, e)
                : type === 'duration'
                  ? parseDuration(rec.text(f))
                  : parseNumberBytes(rec.buf, s, e);
            ok = !Number.isNaN(v);
            b.values.push(v);
            break;
          }
          case 'bool': {
            const v = parseBoolText(rec.text(f));
            ok = v >= 0;
            b.values.push(v);
            break;
          }
          case 'list': {
            let v: unknown[] | undefined;
            try {
              v = listValue(b.field.type, JSON.parse(rec.text(f)));
            } catch {
              v = undefined;
            }
            ok = v !== undefined;
            b.values.push(v ?? null);
          }
        }
        if (!ok) {
          problems.value('HER5022', at(f), `attribute "${b.field.name}" must be ${describe(b.field.type)}, got "${rec.text(f)}" (set to null)`);
        }
      }
      return true;
    },
    (p) => problems.row('HER5013', { file, line: p.line, column: p.column }, p.message),
  );
  if (fatal) return undefined;
  if (header) {
    problems.fatal('HER5010', { file, line: 1, column: 1 }, 'customers file is empty (no header row)');
    return undefined;
  }
  return { count: ids.size, ids, columns: new Map(builders.map((b) => [b.field.name, finishColumn(b)])) };
}

function jsAttribute(field: FieldDef, v: unknown): { ok: boolean; value: unknown } {
  if (v === null || v === undefined || v === '') return { ok: true, value: null };
  switch (field.type) {
    case 'string':
      return typeof v === 'string' ? { ok: true, value: v } : typeof v === 'number' ? { ok: true, value: String(v) } : { ok: false, value: null };
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) ? { ok: true, value: v } : { ok: false, value: null };
    case 'duration': {
      const d = typeof v === 'number' ? v : typeof v === 'string' ? parseDuration(v) : NaN;
      return Number.isNaN(d) ? { ok: false, value: null } : { ok: true, value: d };
    }
    case 'timestamp': {
      const t = typeof v === 'number' ? v : typeof v === 'string' ? parseTimestamp(v) : NaN;
      return Number.isNaN(t) ? { ok: false, value: null } : { ok: true, value: t };
    }
    case 'bool':
      return typeof v === 'boolean' ? { ok: true, value: v } : { ok: false, value: null };
    default: {
      const list = listValue(field.type, v);
      return list ? { ok: true, value: list } : { ok: false, value: null };
    }
  }
}

/** 1-based column of `"key"` in a JSON line, or 1. */
export function keyColumn(text: string, key: string): number {
  const at = text.indexOf(`"${key}"`);
  return at < 0 ? 1 : at + 1;
}

function loadCustomersNdjson(file: string, model: DataModel, problems: RowProblems): CustomerTable | undefined {
  const ids = new ByteStringPool();
  const builders = [...model.attributes.values()].map(columnBuilder);
  const warned = new Set<string>();
  scanLinesFile(file, (text, line) => {
    const rec = parseJsonLine(text, file, line, problems);
    if (!rec) return;
    const rawId = rec[model.customerId];
    const id = typeof rawId === 'string' ? rawId : typeof rawId === 'number' ? String(rawId) : '';
    if (id === '') {
      problems.row('HER5020', { file, line, column: keyColumn(text, model.customerId) }, `customer without an id ("${model.customerId}" missing or empty)`);
      return;
    }
    const before = ids.size;
    if (ids.internString(id) < before) {
      problems.row('HER5021', { file, line, column: keyColumn(text, model.customerId) }, `duplicate customer id "${id}"`);
      return;
    }
    for (const key of Object.keys(rec)) {
      if (key !== model.customerId && !model.attributes.has(key) && !warned.has(key)) {
        warned.add(key);
        problems.warning('HER5011', { file, line, column: keyColumn(text, key) }, `key "${key}" is not a declared customer attribute (ignored)`);
      }
    }
    for (const b of builders) {
      const { ok, value } = jsAttribute(b.field, rec[b.field.name]);
      if (!ok) {
        problems.value('HER5022', { file, line, column: keyColumn(text, b.field.name) }, `attribute "${b.field.name}" must be ${describe(b.field.type)}, got ${JSON.stringify(rec[b.field.name])} (set to null)`);
      }
      switch (b.kind) {
        case 'string':
          b.arena.pushString(value as string | null);
          break;
        case 'number':
          b.values.push(value === null ? NaN : (value as number));
          break;
        case 'bool':
          b.values.push(value === null ? -1 : value ? 1 : 0);
          break;
        case 'list':
          b.values.push(value as unknown[] | null);
      }
    }
  });
  return { count: ids.size, ids, columns: new Map(builders.map((b) => [b.field.name, finishColumn(b)])) };
}
