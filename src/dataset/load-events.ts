// events.csv | events.ndjson → one EventTypeBuilder per declared type (rows in file order). CSV columns:
// customer_id, type, ts, and either `props` (a JSON object) or one column per prop (lists as JSON arrays),
// or both. The hot path never creates a JS string per row: ids, types and string props are matched and
// interned from the bytes (see csv-scanner.ts, event-builder.ts).
import type { DataModel } from '../model/data-model.js';
import type { ByteStringPool } from './byte-strings.js';
import { scanCsvFile, type CsvRecord } from './csv-scanner.js';
import { EventTypeBuilder, type PropProblem } from './event-builder.js';
import { keyColumn } from './load-customers.js';
import { scanLinesFile } from './line-scanner.js';
import { parseTimestamp, parseTimestampBytes } from './parse-scalars.js';
import { parseJsonLine, type RowProblems } from './row-problems.js';

export interface LoadedEvents {
  builders: EventTypeBuilder[];
  /** Accepted rows. */
  count: number;
  /** Whether accepted rows were in ascending time order. */
  sorted: boolean;
}

const CUSTOMER_COLUMNS = ['customer_id'];

interface SortCheck {
  last: number;
  late: number;
  first?: { line: number; column: number };
}

function reportUnsorted(sort: SortCheck, file: string, problems: RowProblems): void {
  if (sort.late === 0 || !sort.first) return;
  problems.strictOnly(
    'HER5034',
    { file, ...sort.first },
    `events file is not sorted by time: ${sort.late} row(s) are earlier than a row above them (the first is here); they were sorted on load`,
    'sort the file by ts, e.g. when exporting: ORDER BY ts',
  );
}

export function loadEvents(
  file: string,
  format: 'csv' | 'ndjson',
  model: DataModel,
  ids: ByteStringPool,
  strings: ByteStringPool,
  problems: RowProblems,
): LoadedEvents | undefined {
  const builders = [...model.events.values()].map((def, id) => new EventTypeBuilder(id, def, strings));
  return format === 'csv'
    ? loadEventsCsv(file, model, builders, ids, problems)
    : loadEventsNdjson(file, model, builders, ids, problems);
}

function loadEventsCsv(
  file: string,
  model: DataModel,
  builders: EventTypeBuilder[],
  ids: ByteStringPool,
  problems: RowProblems,
): LoadedEvents | undefined {
  const typeKeys = builders.map((b) => new Uint8Array(Buffer.from(b.def.name, "utf8")));
  let header = true;
  let fatal = false;
  let width = 0;
  let ci = -1;
  let ti = -1;
  let tsi = -1;
  let pi = -1;
  /** Extra columns: their names and, per type, the prop index each maps to (-1 = not a prop of it). */
  let extra: number[] = [];
  let extraProp: Int32Array[] = [];
  let extraNames: string[] = [];
  let seq = 0;
  const sort: SortCheck = { last: -Infinity, late: 0 };

  const onRecord = (rec: CsvRecord): boolean => {
    if (header) {
      header = false;
      width = rec.count;
      const names = Array.from({ length: rec.count }, (_, f) => rec.text(f).trim());
      ci = names.findIndex((n) => CUSTOMER_COLUMNS.includes(n));
      if (ci < 0) ci = names.indexOf(model.customerId);
      ti = names.indexOf('type');
      tsi = names.indexOf('ts');
      pi = names.indexOf('props');
      rec.rawField = pi;
      const missing = [ci < 0 ? 'customer_id' : '', ti < 0 ? 'type' : '', tsi < 0 ? 'ts' : ''].filter(Boolean);
      if (missing.length > 0) {
        problems.fatal('HER5010', { file, line: rec.line, column: 1 }, `events file lacks column(s) ${missing.join(', ')}`, 'header: customer_id,type,ts,props');
        fatal = true;
        return false;
      }
      extra = names.map((_, f) => f).filter((f) => f !== ci && f !== ti && f !== tsi && f !== pi);
      extraNames = extra.map((f) => names[f]);
      extraProp = builders.map((b) => Int32Array.from(extraNames, (n) => b.propIndex(n)));
      for (let k = 0; k < extra.length; k++) {
        if (!builders.some((b) => b.propIndex(extraNames[k]) >= 0)) {
          problems.warning('HER5011', { file, line: rec.line, column: rec.column(extra[k]) }, `column "${extraNames[k]}" is not a prop of any event type (ignored)`);
        }
      }
      return true;
    }
    const buf = rec.buf;
    if (rec.count !== width) {
      problems.row('HER5012', { file, line: rec.line, column: rec.column(Math.min(rec.count, width)) }, `expected ${width} fields, found ${rec.count}`);
      return true;
    }
    const cs = rec.starts[ci];
    const ce = rec.ends[ci];
    if (cs === ce) {
      problems.row('HER5030', { file, line: rec.line, column: rec.column(ci) }, 'event without a customer id');
      return true;
    }
    const customer = ids.find(buf, cs, ce);
    if (customer < 0) {
      problems.row('HER5031', { file, line: rec.line, column: rec.column(ci) }, `event for unknown customer "${rec.text(ci)}" (not in the customers file)`);
      return true;
    }
    const ts0 = rec.starts[ti];
    const te0 = rec.ends[ti];
    let type = -1;
    for (let k = 0; k < typeKeys.length; k++) {
      const key = typeKeys[k];
      if (key.length !== te0 - ts0) continue;
      let m = 0;
      while (m < key.length && buf[ts0 + m] === key[m]) m++;
      if (m === key.length) {
        type = k;
        break;
      }
    }
    if (type < 0) {
      problems.row('HER5032', { file, line: rec.line, column: rec.column(ti) }, `unknown event type "${rec.text(ti)}"`, `declared types: ${builders.map((b) => b.def.name).join(', ')}`);
      return true;
    }
    const ts = parseTimestampBytes(buf, rec.starts[tsi], rec.ends[tsi]);
    if (Number.isNaN(ts)) {
      problems.row('HER5033', { file, line: rec.line, column: rec.column(tsi) }, `unparsable timestamp "${rec.text(tsi)}"`, 'use ISO-8601, e.g. 2026-10-31T12:00:00Z, or epoch milliseconds');
      return true;
    }
    const b = builders[type];
    b.reset();
    if (pi >= 0 && !b.parseJsonProps(buf, rec.starts[pi], rec.ends[pi], rec.quoted[pi] === 2)) {
      const p = b.problem!;
      problems.row(p.code, { file, line: rec.line, column: propsColumn(rec, pi, p.offset) }, p.message);
      return true;
    }
    for (let k = 0; k < extra.length; k++) {
      const f = extra[k];
      if (rec.starts[f] === rec.ends[f]) continue;
      const p = extraProp[type][k];
      if (p < 0) {
        b.unknown.push({ code: 'HER5037', message: `prop "${extraNames[k]}" is not declared for event type ${b.def.name} (ignored)`, offset: -1 - f });
        continue;
      }
      if (!b.stageText(p, buf, rec.starts[f], rec.ends[f])) {
        problems.row(b.problem!.code, { file, line: rec.line, column: rec.column(f) }, b.problem!.message);
        return true;
      }
    }
    for (const u of b.unknown) {
      const column = u.offset < 0 ? rec.column(-1 - u.offset) : propsColumn(rec, pi, u.offset);
      problems.value(u.code, { file, line: rec.line, column }, u.message);
    }
    if (ts < sort.last) {
      if (sort.late++ === 0) sort.first = { line: rec.line, column: rec.column(tsi) };
    } else sort.last = ts;
    b.commit(customer, ts, seq++);
    return true;
  };

  scanCsvFile(file, onRecord, (p) => problems.row('HER5013', { file, line: p.line, column: p.column }, p.message));
  if (fatal) return undefined;
  if (header) {
    problems.fatal('HER5010', { file, line: 1, column: 1 }, 'events file is empty (no header row)');
    return undefined;
  }
  reportUnsorted(sort, file, problems);
  return { builders, count: seq, sorted: sort.late === 0 };
}

/** Column of a byte offset inside the props field (left CSV-escaped, so offsets are raw). */
function propsColumn(rec: CsvRecord, f: number, offset: number): number {
  return rec.column(f) + (rec.quoted[f] > 0 ? 1 : 0) + Math.max(0, offset - rec.starts[f]);
}

function loadEventsNdjson(
  file: string,
  model: DataModel,
  builders: EventTypeBuilder[],
  ids: ByteStringPool,
  problems: RowProblems,
): LoadedEvents {
  const byName = new Map(builders.map((b) => [b.def.name, b]));
  let seq = 0;
  const sort: SortCheck = { last: -Infinity, late: 0 };
  scanLinesFile(file, (text, line) => {
    const rec = parseJsonLine(text, file, line, problems);
    if (!rec) return;
    const idKey = 'customer_id' in rec ? 'customer_id' : model.customerId;
    const rawId = rec[idKey];
    const id = typeof rawId === 'string' ? rawId : typeof rawId === 'number' ? String(rawId) : '';
    if (id === '') {
      problems.row('HER5030', { file, line, column: keyColumn(text, idKey) }, 'event without a customer id');
      return;
    }
    const customer = ids.findString(id);
    if (customer < 0) {
      problems.row('HER5031', { file, line, column: keyColumn(text, idKey) }, `event for unknown customer "${id}" (not in the customers file)`);
      return;
    }
    const b = typeof rec.type === 'string' ? byName.get(rec.type) : undefined;
    if (!b) {
      problems.row('HER5032', { file, line, column: keyColumn(text, 'type') }, `unknown event type ${JSON.stringify(rec.type)}`, `declared types: ${builders.map((x) => x.def.name).join(', ')}`);
      return;
    }
    const ts = typeof rec.ts === 'number' ? rec.ts : typeof rec.ts === 'string' ? parseTimestamp(rec.ts) : NaN;
    if (Number.isNaN(ts)) {
      problems.row('HER5033', { file, line, column: keyColumn(text, 'ts') }, `unparsable timestamp ${JSON.stringify(rec.ts)}`, 'use ISO-8601, e.g. 2026-10-31T12:00:00Z, or epoch milliseconds');
      return;
    }
    b.reset();
    let props: Record<string, unknown> = {};
    if (rec.props !== undefined && rec.props !== null) {
      if (typeof rec.props !== 'object' || Array.isArray(rec.props)) {
        problems.row('HER5035', { file, line, column: keyColumn(text, 'props') }, 'props must be a JSON object');
        return;
      }
      props = { ...(rec.props as Record<string, unknown>) };
    }
    for (const [k, v] of Object.entries(rec)) if (k !== idKey && k !== 'type' && k !== 'ts' && k !== 'props') props[k] = v;
    const unknown: PropProblem[] = [];
    for (const [k, v] of Object.entries(props)) {
      const p = b.propIndex(k);
      if (p < 0) {
        unknown.push({ code: 'HER5037', message: `prop "${k}" is not declared for event type ${b.def.name} (ignored)`, offset: keyColumn(text, k) });
        continue;
      }
      if (!b.stageValue(p, v)) {
        problems.row(b.problem!.code, { file, line, column: keyColumn(text, k) }, b.problem!.message);
        return;
      }
    }
    for (const u of unknown) problems.value(u.code, { file, line, column: u.offset }, u.message);
    if (ts < sort.last) {
      if (sort.late++ === 0) sort.first = { line, column: keyColumn(text, 'ts') };
    } else sort.last = ts;
    b.commit(customer, ts, seq++);
  });
  reportUnsorted(sort, file, problems);
  return { builders, count: seq, sorted: sort.late === 0 };
}
