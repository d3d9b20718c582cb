// Import mappings (mappings/*.yaml): how a transaction file becomes a dataset. Read and validated here
// into a normalised ImportMapping; problems are HER5100 diagnostics with the mapping file's line:column.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { Diagnostic } from '../../diagnostics/diagnostic.js';

export type PropRule =
  | { op: 'column'; column: string; type: 'string' | 'number' }
  | { op: 'sum'; column: string }
  | { op: 'sum_of_product'; columns: [string, string] }
  | { op: 'distinct'; column: string }
  | { op: 'row_number'; prefix: string };

export interface RowFilter {
  column: string;
  test: { kind: 'empty' } | { kind: 'equals'; value: string } | { kind: 'starts_with'; value: string };
  reason: string;
}

export interface ImportMapping {
  name: string;
  file: string;
  source: {
    file: string;
    format: 'csv' | 'whitespace';
    header: boolean;
    columns?: string[];
    timezone: string;
  };
  customer: {
    id: { column: string; format: 'text' | 'integer' };
    attributes: { name: string; column: string }[];
  };
  skip: RowFilter[];
  cancellations?: { when: RowFilter; action: 'drop' | 'refund' };
  event: {
    type: string;
    groupBy?: string;
    ts: { column: string; format: string };
    props: { name: string; rule: PropRule }[];
  };
  products?: { id: string; name?: string; price?: string; category?: string };
}

export interface MappingResult {
  mapping?: ImportMapping;
  diagnostics: Diagnostic[];
}

export function readMapping(file: string): MappingResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { diagnostics: [{ code: 'HER5101', severity: 'error', message: `cannot read mapping ${file}: ${(error as Error).message}`, file }] };
  }
  return parseMapping(text, file);
}

export function parseMapping(text: string, file: string): MappingResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const diagnostics: Diagnostic[] = [];
  for (const e of doc.errors) {
    const pos = lines.linePos(e.pos[0]);
    diagnostics.push({ code: 'HER5100', severity: 'error', message: e.message.split('\n')[0], file, line: pos.line, column: pos.col });
  }
  if (diagnostics.length > 0) return { diagnostics };
  const root = doc.toJS() as Record<string, unknown> | null;
  const fail = (p: (string | number)[], message: string) => {
    const node = doc.getIn(p, true) as { range?: [number, number, number] } | undefined;
    const at = node?.range ? lines.linePos(node.range[0]) : undefined;
    diagnostics.push({
      code: 'HER5100',
      severity: 'error',
      message,
      file,
      ...(at ? { line: at.line, column: at.col } : {}),
      path: `/${p.join('/')}`,
    });
  };
  const spec = (root?.spec ?? undefined) as Record<string, any> | undefined;
  if (!root || root.kind !== 'ImportMapping' || !spec || typeof spec !== 'object') {
    fail([], 'a mapping is a document with kind: ImportMapping and a spec');
    return { diagnostics };
  }
  const str = (p: (string | number)[], v: unknown, what: string): string => {
    if (typeof v === 'string' && v !== '') return v;
    fail(p, `${what} must be a non-empty string`);
    return '';
  };
  const colOf = (p: (string | number)[], v: unknown, what: string): string =>
    typeof v === 'object' && v !== null && 'column' in v ? str([...p, 'column'], (v as { column: unknown }).column, `${what}.column`) : str(p, v, what);

  const src = spec.source ?? {};
  const format = src.format ?? 'csv';
  if (format !== 'csv' && format !== 'whitespace') fail(['spec', 'source', 'format'], 'source.format must be csv or whitespace');
  const columns = Array.isArray(src.columns) ? src.columns.map(String) : undefined;
  const source = {
    file: path.resolve(path.dirname(file), str(['spec', 'source', 'file'], src.file, 'source.file')),
    format: format as 'csv' | 'whitespace',
    header: src.header ?? format === 'csv',
    columns,
    timezone: typeof src.timezone === 'string' ? src.timezone : 'UTC',
  };

  const cust = spec.customer ?? {};
  const idSpec = cust.id;
  const idFormat = typeof idSpec === 'object' && idSpec?.format === 'integer' ? 'integer' : 'text';
  const attributes = Object.entries((cust.attributes ?? {}) as Record<string, unknown>).map(([name, v]) => ({
    name,
    column: colOf(['spec', 'customer', 'attributes', name], v, `customer.attributes.${name}`),
  }));
  const filter = (p: (string | number)[], v: any): RowFilter | undefined => {
    if (typeof v !== 'object' || v === null) {
      fail(p, 'a row rule is { column, empty: true | equals: … | starts_with: … }');
      return undefined;
    }
    const column = str([...p, 'column'], v.column, 'column');
    const reason = typeof v.reason === 'string' ? v.reason : '';
    if (v.empty === true) return { column, test: { kind: 'empty' }, reason: reason || `${column} is empty` };
    if (typeof v.equals === 'string') return { column, test: { kind: 'equals', value: v.equals }, reason: reason || `${column} = ${v.equals}` };
    if (typeof v.starts_with === 'string') {
      return { column, test: { kind: 'starts_with', value: v.starts_with }, reason: reason || `${column} starts with ${v.starts_with}` };
    }
    fail(p, 'a row rule needs one of empty: true, equals, starts_with');
    return undefined;
  };
  const skip = (Array.isArray(spec.skip) ? spec.skip : []).map((v: unknown, k: number) => filter(['spec', 'skip', k], v)).filter(Boolean) as RowFilter[];
  let cancellations: ImportMapping['cancellations'];
  if (spec.cancellations) {
    const when = filter(['spec', 'cancellations', 'when'], spec.cancellations.when);
    const action = spec.cancellations.action ?? 'drop';
    if (action !== 'drop' && action !== 'refund') fail(['spec', 'cancellations', 'action'], 'cancellations.action must be drop or refund');
    if (when) cancellations = { when, action };
  }

  const ev = spec.event ?? {};
  const props = Object.entries((ev.props ?? {}) as Record<string, any>).map(([name, v]) => {
    const p = ['spec', 'event', 'props', name];
    let rule: PropRule | undefined;
    if (typeof v === 'string') rule = { op: 'column', column: v, type: 'string' };
    else if (v && typeof v === 'object') {
      if (typeof v.column === 'string') rule = { op: 'column', column: v.column, type: v.type === 'number' ? 'number' : 'string' };
      else if (typeof v.sum === 'string') rule = { op: 'sum', column: v.sum };
      else if (Array.isArray(v.sum_of_product) && v.sum_of_product.length === 2) rule = { op: 'sum_of_product', columns: [String(v.sum_of_product[0]), String(v.sum_of_product[1])] };
      else if (typeof v.distinct === 'string') rule = { op: 'distinct', column: v.distinct };
      else if (v.row_number === true) rule = { op: 'row_number', prefix: typeof v.prefix === 'string' ? v.prefix : '' };
    }
    if (!rule) fail(p, 'a prop is a column name or one of { column [, type] }, { sum }, { sum_of_product: [a, b] }, { distinct }, { row_number: true }');
    return { name, rule: rule ?? ({ op: 'row_number', prefix: '' } as PropRule) };
  });
  const tsSpec = ev.ts ?? {};
  const mapping: ImportMapping = {
    name: typeof root.metadata === 'object' && root.metadata && 'name' in root.metadata ? String((root.metadata as { name: unknown }).name) : path.basename(file),
    file,
    source,
    customer: { id: { column: colOf(['spec', 'customer', 'id'], idSpec, 'customer.id'), format: idFormat }, attributes },
    skip,
    cancellations,
    event: {
      type: str(['spec', 'event', 'type'], ev.type, 'event.type'),
      groupBy: typeof ev.group_by === 'string' ? ev.group_by : undefined,
      ts: { column: colOf(['spec', 'event', 'ts'], tsSpec, 'event.ts'), format: typeof tsSpec.format === 'string' ? tsSpec.format : 'iso' },
      props,
    },
    products: spec.products && typeof spec.products === 'object' ? { ...spec.products, id: str(['spec', 'products', 'id'], spec.products.id, 'products.id') } : undefined,
  };
  return diagnostics.length > 0 ? { diagnostics } : { mapping, diagnostics };
}
