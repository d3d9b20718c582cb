// `herald data import`: a transaction file + a mapping → a dataset directory (customers.csv, events.csv
// sorted by time, products.csv when the mapping names product columns). Every row that does not become
// part of an event is counted under its reason; nothing is dropped silently.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DateTime } from 'luxon';
import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import { scanCsvBuffer } from '../csv-scanner.js';
import { formatTimestamp, parseNumber, parseTimestamp } from '../parse-scalars.js';
import { BufferedWriter, csvField, propsCell } from '../write-csv.js';
import type { ImportMapping, RowFilter } from './mapping.js';

export interface ImportReport {
  mapping: string;
  source: string;
  /** Data rows read (header excluded). */
  rows: number;
  /** Rows left out by a `skip` rule, by the rule's reason. */
  skipped: Record<string, number>;
  cancellations?: { action: 'drop' | 'refund'; rows: number; events: number };
  /** Rows left out because a value could not be parsed (HER5103). */
  unparsable: number;
  customers: number;
  events: number;
  products: number;
  /** Sum of the `amount` prop over written events of the mapped type (refunds excluded). */
  revenue: number;
  first?: string;
  last?: string;
  files: { file: string; bytes: number }[];
  diagnostics: Diagnostic[];
}

interface Group {
  customer: string;
  ts: number;
  line: number;
  refund: boolean;
  first: string[];
  sums: number[];
  distinct: Set<string>[];
  order: number;
}

function matches(rule: RowFilter, value: string): boolean {
  switch (rule.test.kind) {
    case 'empty':
      return value.trim() === '';
    case 'equals':
      return value === rule.test.value;
    case 'starts_with':
      return value.startsWith(rule.test.value);
  }
}

/** Rows of the source as string arrays, with 1-based line numbers; the header (if any) first. */
function readRows(m: ImportMapping, onRow: (fields: string[], line: number) => void, diagnostics: Diagnostic[]): void {
  let bytes: Buffer = readFileSync(m.source.file);
  if (m.source.file.endsWith('.gz')) bytes = gunzipSync(bytes);
  if (m.source.format === 'csv') {
    scanCsvBuffer(
      bytes,
      (rec) => {
        const fields = new Array<string>(rec.count);
        for (let f = 0; f < rec.count; f++) fields[f] = rec.text(f);
        onRow(fields, rec.line);
      },
      (p) => diagnostics.push({ code: 'HER5103', severity: 'warning', message: p.message, file: m.source.file, line: p.line, column: p.column }),
    );
    return;
  }
  const text = bytes.toString('utf8');
  let line = 0;
  for (const raw of text.split('\n')) {
    line++;
    const t = raw.trim();
    if (t === '') continue;
    onRow(t.split(/\s+/), line);
  }
}

export function importTransactions(m: ImportMapping, outDir: string): ImportReport {
  const diagnostics: Diagnostic[] = [];
  const report: ImportReport = {
    mapping: m.name,
    source: m.source.file,
    rows: 0,
    skipped: {},
    unparsable: 0,
    customers: 0,
    events: 0,
    products: 0,
    revenue: 0,
    files: [],
    diagnostics,
  };
  if (m.cancellations) report.cancellations = { action: m.cancellations.action, rows: 0, events: 0 };
  let index: Map<string, number> | undefined = m.source.columns ? new Map(m.source.columns.map((c, k) => [c, k])) : undefined;
  const col = (name: string): number => index!.get(name) ?? -1;
  let resolved: {
    id: number;
    ts: number;
    group: number;
    attrs: number[];
    skip: number[];
    cancel: number;
    props: number[][];
    product: { id: number; name: number; price: number; category: number } | undefined;
  } | undefined;
  const zoneCache = new Map<string, number>();
  const parseTs = (text: string): number => {
    const cached = zoneCache.get(text);
    if (cached !== undefined) return cached;
    const ms =
      m.event.ts.format === 'iso'
        ? parseTimestamp(text)
        : DateTime.fromFormat(text, m.event.ts.format, { zone: m.source.timezone }).toMillis();
    zoneCache.set(text, ms);
    return ms;
  };
  const customers = new Map<string, string[]>();
  const groups = new Map<string, Group>();
  const productRows = new Map<string, { name: string; price: string; category: string }>();
  let order = 0;
  let headerPending = m.source.header;
  let fatal = false;

  const read = (onRow: (fields: string[], line: number) => void): boolean => {
    try {
      readRows(m, onRow, diagnostics);
      return true;
    } catch (error) {
      diagnostics.push({ code: 'HER5101', severity: 'error', message: `cannot read source ${m.source.file}: ${(error as Error).message}`, file: m.file });
      return false;
    }
  };
  const ok = read(
    (fields, line) => {
      if (fatal) return;
      if (headerPending) {
        headerPending = false;
        if (!index) index = new Map(fields.map((c, k) => [c.trim(), k]));
        return;
      }
      if (!index) {
        index = new Map(fields.map((_, k) => [`column${k + 1}`, k]));
      }
      if (!resolved) {
        const need = (name: string, where: string): number => {
          const k = col(name);
          if (k < 0 && !fatal) {
            diagnostics.push({ code: 'HER5102', severity: 'error', message: `${where}: column "${name}" not in the source (columns: ${[...index!.keys()].join(', ')})`, file: m.file });
            fatal = true;
          }
          return k;
        };
        resolved = {
          id: need(m.customer.id.column, 'customer.id'),
          ts: need(m.event.ts.column, 'event.ts'),
          group: m.event.groupBy ? need(m.event.groupBy, 'event.group_by') : -1,
          attrs: m.customer.attributes.map((a) => need(a.column, `customer.attributes.${a.name}`)),
          skip: m.skip.map((s) => need(s.column, 'skip')),
          cancel: m.cancellations ? need(m.cancellations.when.column, 'cancellations.when') : -1,
          props: m.event.props.map(({ name, rule }) => {
            switch (rule.op) {
              case 'column':
              case 'sum':
              case 'distinct':
                return [need(rule.column, `event.props.${name}`)];
              case 'sum_of_product':
                return rule.columns.map((c) => need(c, `event.props.${name}`));
              case 'row_number':
                return [];
            }
          }),
          product: m.products
            ? {
                id: need(m.products.id, 'products.id'),
                name: m.products.name ? need(m.products.name, 'products.name') : -1,
                price: m.products.price ? need(m.products.price, 'products.price') : -1,
                category: m.products.category ? need(m.products.category, 'products.category') : -1,
              }
            : undefined,
        };
        if (fatal) return;
      }
      const r = resolved;
      report.rows++;
      for (let k = 0; k < m.skip.length; k++) {
        if (matches(m.skip[k], fields[r.skip[k]] ?? '')) {
          report.skipped[m.skip[k].reason] = (report.skipped[m.skip[k].reason] ?? 0) + 1;
          return;
        }
      }
      const refund = m.cancellations ? matches(m.cancellations.when, fields[r.cancel] ?? '') : false;
      if (refund) report.cancellations!.rows++;
      if (refund && m.cancellations!.action === 'drop') return;
      let customer = (fields[r.id] ?? '').trim();
      if (m.customer.id.format === 'integer' && /^\d+\.0+$/.test(customer)) customer = customer.replace(/\.0+$/, '');
      const ts = parseTs((fields[r.ts] ?? '').trim());
      const bad = (message: string) => {
        report.unparsable++;
        if (report.unparsable <= 20) diagnostics.push({ code: 'HER5103', severity: 'warning', message: `${message} (row skipped)`, file: m.source.file, line });
      };
      if (customer === '') return bad('empty customer id');
      if (Number.isNaN(ts)) return bad(`unparsable ${m.event.ts.column} "${fields[r.ts]}" (format ${m.event.ts.format})`);
      const nums: number[] = [];
      for (let k = 0; k < m.event.props.length; k++) {
        const rule = m.event.props[k].rule;
        if (rule.op === 'sum' || (rule.op === 'column' && rule.type === 'number')) {
          const v = parseNumber(fields[r.props[k][0]] ?? '');
          if (Number.isNaN(v)) return bad(`unparsable number in ${rule.column}: "${fields[r.props[k][0]]}"`);
          nums[k] = v;
        } else if (rule.op === 'sum_of_product') {
          const a = parseNumber(fields[r.props[k][0]] ?? '');
          const b = parseNumber(fields[r.props[k][1]] ?? '');
          if (Number.isNaN(a) || Number.isNaN(b)) return bad(`unparsable number in ${rule.columns.join(' × ')}`);
          nums[k] = a * b;
        }
      }
      if (!customers.has(customer)) customers.set(customer, r.attrs.map((k) => fields[k] ?? ''));
      const key = r.group >= 0 ? `${refund ? 'R' : 'P'}\u0000${fields[r.group]}` : `${line}`;
      let g = groups.get(key);
      if (!g) {
        g = {
          customer,
          ts,
          line,
          refund,
          first: m.event.props.map((_, k) => fields[r.props[k][0]] ?? ''),
          sums: m.event.props.map(() => 0),
          distinct: m.event.props.map(() => new Set<string>()),
          order: order++,
        };
        groups.set(key, g);
      } else if (g.customer !== customer) {
        return bad(`group ${fields[r.group]} belongs to customer ${g.customer}, row has ${customer}`);
      }
      if (ts < g.ts) g.ts = ts;
      for (let k = 0; k < m.event.props.length; k++) {
        const rule = m.event.props[k].rule;
        if (rule.op === 'sum' || rule.op === 'sum_of_product') g.sums[k] += nums[k];
        else if (rule.op === 'distinct') {
          const v = fields[r.props[k][0]] ?? '';
          if (v !== '') g.distinct[k].add(v);
        }
      }
      if (r.product && fields[r.product.id] && !productRows.has(fields[r.product.id])) {
        productRows.set(fields[r.product.id], {
          name: r.product.name >= 0 ? (fields[r.product.name] ?? '').trim() : '',
          price: r.product.price >= 0 ? (fields[r.product.price] ?? '') : '',
          category: r.product.category >= 0 ? (fields[r.product.category] ?? '') : '',
        });
      }
    },
  );
  if (!ok || fatal) return report;

  mkdirSync(outDir, { recursive: true });
  const cw = new BufferedWriter(path.join(outDir, 'customers.csv'));
  cw.write(['id', ...m.customer.attributes.map((a) => a.name)].join(',') + '\n');
  const ids = [...customers.keys()].sort(compareIds);
  for (const id of ids) cw.write([id, ...customers.get(id)!].map(csvField).join(',') + '\n');
  report.customers = ids.length;
  report.files.push({ file: path.join(outDir, 'customers.csv'), bytes: cw.close() });

  const events = [...groups.values()].sort((a, b) => a.ts - b.ts || a.order - b.order);
  const ew = new BufferedWriter(path.join(outDir, 'events.csv'));
  ew.write('customer_id,type,ts,props\n');
  const amountAt = m.event.props.findIndex((p) => p.name === 'amount');
  for (const g of events) {
    const props: Record<string, unknown> = {};
    m.event.props.forEach(({ name, rule }, k) => {
      switch (rule.op) {
        case 'column':
          props[name] = rule.type === 'number' ? parseNumber(g.first[k]) : g.first[k];
          break;
        case 'sum':
        case 'sum_of_product':
          // Cents: float sums of prices carry noise like 15.299999999999999.
          props[name] = Math.round((g.refund ? -Math.abs(g.sums[k]) : g.sums[k]) * 100) / 100;
          break;
        case 'distinct':
          props[name] = [...g.distinct[k]];
          break;
        case 'row_number':
          props[name] = `${rule.prefix}${g.line}`;
      }
    });
    if (!g.refund && amountAt >= 0) report.revenue += props.amount as number;
    if (g.refund) report.cancellations!.events++;
    ew.write(`${csvField(g.customer)},${g.refund ? 'refund' : m.event.type},${formatTimestamp(g.ts)},${propsCell(props)}\n`);
  }
  report.events = events.length;
  report.revenue = Math.round(report.revenue * 100) / 100;
  if (events.length > 0) {
    report.first = formatTimestamp(events[0].ts);
    report.last = formatTimestamp(events[events.length - 1].ts);
  }
  report.files.push({ file: path.join(outDir, 'events.csv'), bytes: ew.close() });

  if (m.products) {
    const pw = new BufferedWriter(path.join(outDir, 'products.csv'));
    pw.write('id,name,price,category\n');
    for (const [id, p] of [...productRows].sort((a, b) => compareIds(a[0], b[0]))) {
      pw.write([id, p.name, p.price, p.category].map(csvField).join(',') + '\n');
    }
    report.products = productRows.size;
    report.files.push({ file: path.join(outDir, 'products.csv'), bytes: pw.close() });
  }
  for (const [reason, count] of Object.entries(report.skipped)) {
    diagnostics.push({ code: 'HER5104', severity: 'warning', message: `${count} row(s) skipped: ${reason}`, file: m.file });
  }
  if (report.cancellations && report.cancellations.rows > 0) {
    const c = report.cancellations;
    diagnostics.push({
      code: 'HER5105',
      severity: 'warning',
      message: c.action === 'drop' ? `${c.rows} cancellation row(s) dropped` : `${c.rows} cancellation row(s) written as ${c.events} refund event(s)`,
      file: m.file,
    });
  }
  if (report.unparsable > 20) {
    diagnostics.push({ code: 'HER5103', severity: 'warning', message: `${report.unparsable} row(s) with unparsable values skipped in total`, file: m.source.file });
  }
  return report;
}

/** Numeric ids in numeric order, others after them in text order (stable, readable output). */
function compareIds(a: string, b: string): number {
  const na = /^\d+$/.test(a);
  const nb = /^\d+$/.test(b);
  if (na && nb) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
