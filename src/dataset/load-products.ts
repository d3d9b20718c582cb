// products.csv | products.ndjson: the optional catalogue templates join to events by product id
// (DESIGN §7). Columns are the fixed PRODUCT_FIELDS; only `id` is required.
import { PRODUCT_FIELDS } from '../model/data-model.js';
import { scanCsvFile } from './csv-scanner.js';
import type { Product } from './dataset.js';
import { keyColumn } from './load-customers.js';
import { scanLinesFile } from './line-scanner.js';
import { parseNumber } from './parse-scalars.js';
import type { RowProblems } from './row-problems.js';

const FIELDS = [...PRODUCT_FIELDS.keys()] as (keyof Product)[];

export function loadProducts(file: string, format: 'csv' | 'ndjson', problems: RowProblems): Product[] {
  const out: Product[] = [];
  const seen = new Set<string>();
  const accept = (raw: Record<string, unknown>, at: (field: string) => { file: string; line: number; column: number }): void => {
    const id = typeof raw.id === 'number' ? String(raw.id) : raw.id;
    if (typeof id !== 'string' || id === '') {
      problems.row('HER5040', at('id'), 'product row without an id');
      return;
    }
    if (seen.has(id)) {
      problems.row('HER5041', at('id'), `duplicate product id "${id}"`);
      return;
    }
    const p: Product = { id, name: null, price: null, category: null, url: null, image: null };
    for (const field of FIELDS) {
      if (field === 'id') continue;
      const v = raw[field];
      if (v === undefined || v === null || v === '') continue;
      if (field === 'price') {
        const n = typeof v === 'number' ? v : typeof v === 'string' ? parseNumber(v) : NaN;
        if (Number.isNaN(n)) {
          problems.value('HER5042', at(field), `product "${id}": price must be a number, got ${JSON.stringify(v)} (set to null)`);
          continue;
        }
        p.price = n;
      } else if (typeof v === 'string') {
        p[field] = v;
      } else {
        problems.value('HER5042', at(field), `product "${id}": ${field} must be a string (set to null)`);
      }
    }
    seen.add(id);
    out.push(p);
  };
  if (format === 'ndjson') {
    scanLinesFile(file, (text, line) => {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch (error) {
        problems.row('HER5013', { file, line, column: 1 }, `malformed JSON line: ${(error as Error).message}`);
        return;
      }
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        problems.row('HER5013', { file, line, column: 1 }, 'each line must be a JSON object');
        return;
      }
      accept(raw as Record<string, unknown>, (field) => ({ file, line, column: keyColumn(text, field) }));
    });
    return out;
  }
  let names: string[] | undefined;
  scanCsvFile(
    file,
    (rec) => {
      if (!names) {
        names = Array.from({ length: rec.count }, (_, f) => rec.text(f).trim());
        if (!names.includes('id')) {
          problems.fatal('HER5010', { file, line: rec.line, column: 1 }, 'products file has no "id" column');
          return false;
        }
        names.forEach((n, f) => {
          if (!PRODUCT_FIELDS.has(n)) problems.warning('HER5011', { file, line: rec.line, column: rec.column(f) }, `column "${n}" is not a product field (ignored)`);
        });
        return true;
      }
      if (rec.count !== names.length) {
        problems.row('HER5012', { file, line: rec.line, column: rec.column(Math.min(rec.count, names.length)) }, `expected ${names.length} fields, found ${rec.count}`);
        return true;
      }
      const raw: Record<string, unknown> = {};
      names.forEach((n, f) => (raw[n] = rec.text(f)));
      const cols = names;
      accept(raw, (field) => ({ file, line: rec.line, column: rec.column(Math.max(0, cols.indexOf(field))) }));
      return true;
    },
    (p) => problems.row('HER5013', { file, line: p.line, column: p.column }, p.message),
  );
  return out;
}
