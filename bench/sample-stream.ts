// The bundled sample (samples/demo-shop) as a live stream for the engine bench: its customers' profiles
// through the ingest validation (as POST /v1/customers would store them) and its events in time order, the
// order a shop's event pipeline would send them in. Sessions (views → cart → purchase) and newsletters give
// the stream the per-customer locality and history depth of real traffic, which the synthetic mixes lack.
import path from 'node:path';
import type { Project } from '../dist/config/model.js';
import { scanCsvFile } from '../dist/dataset/csv-scanner.js';
import { validateCustomers } from '../dist/engine/index.js';
import type { EntryWorkload } from './engine-work.js';

export const SAMPLE_DIR = path.resolve('samples/demo-shop');

function readCsv(file: string): Record<string, string>[] {
  let header: string[] | undefined;
  const rows: Record<string, string>[] = [];
  scanCsvFile(
    file,
    (r) => {
      const fields = Array.from({ length: r.count }, (_, f) => r.text(f));
      if (!header) header = fields;
      else rows.push(Object.fromEntries(header.map((h, f) => [h, fields[f] ?? ''])));
    },
    (p) => {
      throw new Error(`${file}:${p.line}:${p.column}: ${p.message}`);
    },
  );
  return rows;
}

/** The sample's events (in file order, which is time order) and customers, at the day after the last event. */
export function sampleWorkload(project: Project, limit = Infinity): EntryWorkload {
  const events = readCsv(path.join(SAMPLE_DIR, 'events.csv'))
    .slice(0, limit)
    .map((r, i) => ({ id: `s-${i}`, customer_id: r.customer_id, type: r.type, ts: r.ts, props: r.props ? (JSON.parse(r.props) as Record<string, unknown>) : {} }));
  const wanted = new Set(events.map((e) => e.customer_id));
  const raw = readCsv(path.join(SAMPLE_DIR, 'customers.csv'))
    .filter((r) => wanted.has(r.id))
    .map(({ id, ...rest }) => {
      const attributes: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(rest)) if (v !== '') attributes[k] = v === 'true' ? true : v === 'false' ? false : v;
      return { id, attributes };
    });
  const checked = validateCustomers({ customers: raw }, project.model, { maxBatch: raw.length });
  if (checked.errors.length) throw new Error(`samples/demo-shop/customers.csv: ${JSON.stringify(checked.errors.slice(0, 3))}`);
  const last = Date.parse(events[events.length - 1].ts);
  const at = new Date(Math.ceil(last / 86_400_000) * 86_400_000).toISOString();
  return { events, customers: checked.value.map((c) => ({ id: c.id, attributes: c.attributes })), at };
}
