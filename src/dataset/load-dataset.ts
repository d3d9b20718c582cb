// Loading a dataset directory (DESIGN §7): customers.csv|ndjson, events.csv|ndjson, optional
// products.csv|ndjson, typed by the Project's data model. Problems are collected (STYLE habit 1); with
// `strict` any bad row fails the load, otherwise bad rows are skipped and counted. With `cacheDir`, the
// loaded columns are kept in a binary file and later loads of unchanged files read that instead.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { DataModel } from '../model/data-model.js';
import { ByteStringPool } from './byte-strings.js';
import { buildEventTable, timeOrderRanks } from './build-tables.js';
import { CACHE_FORMAT_VERSION, modelFingerprint, readDatasetCache, writeDatasetCache } from './dataset-cache.js';
import { Dataset, type EventTable } from './dataset.js';
import { loadCustomers } from './load-customers.js';
import { loadEvents } from './load-events.js';
import { loadProducts } from './load-products.js';
import { RowProblems, type Counts } from './row-problems.js';

export interface LoadOptions {
  /** Fail on any bad row (default false: skip bad rows and count them). */
  strict?: boolean;
  /** Directory for the binary cache; no caching when absent. */
  cacheDir?: string;
  /** Detailed diagnostics per code and file before they are summarised (default 20). */
  detailLimit?: number;
}

export interface LoadResult {
  /** Absent when the load failed (an error diagnostic says why). */
  dataset?: Dataset;
  diagnostics: Diagnostic[];
  /** Rows left out, by code. */
  skipped: Counts;
  /** Values nulled or props dropped while their rows were kept, by code. */
  ignored: Counts;
  cache: 'off' | 'hit' | 'written';
}

type Format = 'csv' | 'ndjson';

function findFile(dir: string, base: string, problems: RowProblems, required: boolean): { file: string; format: Format } | undefined {
  const csv = path.join(dir, `${base}.csv`);
  const ndjson = path.join(dir, `${base}.ndjson`);
  const hasCsv = existsSync(csv);
  const hasNd = existsSync(ndjson);
  if (hasCsv && hasNd) {
    problems.fatal('HER5002', { file: csv }, `both ${base}.csv and ${base}.ndjson exist in ${dir}; keep one`);
    return undefined;
  }
  if (hasCsv) return { file: csv, format: 'csv' };
  if (hasNd) return { file: ndjson, format: 'ndjson' };
  if (required) problems.fatal('HER5001', { file: csv }, `${base}.csv (or ${base}.ndjson) not found in ${dir}`);
  return undefined;
}

function cacheFile(cacheDir: string, dir: string, model: DataModel, strict: boolean, files: string[]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: CACHE_FORMAT_VERSION, model: modelFingerprint(model), strict, dir: path.resolve(dir) }));
  for (const f of files) {
    const st = statSync(f);
    h.update(`${path.basename(f)}:${st.size}:${st.mtimeMs}\n`);
  }
  return path.join(cacheDir, `${path.basename(path.resolve(dir))}-${h.digest('hex').slice(0, 20)}.hds`);
}

export function loadDataset(dir: string, model: DataModel, options: LoadOptions = {}): LoadResult {
  const strict = options.strict ?? false;
  const problems = new RowProblems(strict, options.detailLimit ?? 20);
  const done = (dataset: Dataset | undefined, cache: LoadResult['cache']): LoadResult => {
    const diagnostics = problems.finish();
    return { dataset: problems.failed ? undefined : dataset, diagnostics, skipped: problems.skipped, ignored: problems.ignored, cache };
  };
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    problems.fatal('HER5001', { file: dir }, `dataset directory ${dir} not found`);
    return done(undefined, 'off');
  }
  const customersFile = findFile(dir, 'customers', problems, true);
  const eventsFile = findFile(dir, 'events', problems, true);
  const productsFile = findFile(dir, 'products', problems, false);
  if (!customersFile || !eventsFile || problems.failed) return done(undefined, 'off');

  let cachePath: string | undefined;
  if (options.cacheDir) {
    const files = [customersFile.file, eventsFile.file, ...(productsFile ? [productsFile.file] : [])];
    cachePath = cacheFile(options.cacheDir, dir, model, strict, files);
    if (existsSync(cachePath)) {
      try {
        const hit = readDatasetCache(cachePath, model);
        if (hit) {
          return { dataset: hit.dataset, diagnostics: hit.meta.diagnostics, skipped: hit.meta.skipped, ignored: hit.meta.ignored, cache: 'hit' };
        }
      } catch {
        // fall through: rebuild from the files
      }
      problems.warning('HER5050', { file: cachePath }, 'dataset cache unreadable; rebuilt from the files');
    }
  }

  let customers;
  try {
    customers = loadCustomers(customersFile.file, customersFile.format, model, problems);
  } catch (error) {
    problems.fatal('HER5003', { file: customersFile.file }, `cannot read ${customersFile.file}: ${(error as Error).message}`);
  }
  if (!customers) return done(undefined, 'off');

  const strings = new ByteStringPool();
  let loaded;
  try {
    loaded = loadEvents(eventsFile.file, eventsFile.format, model, customers.ids, strings, problems);
  } catch (error) {
    problems.fatal('HER5003', { file: eventsFile.file }, `cannot read ${eventsFile.file}: ${(error as Error).message}`);
  }
  if (!loaded) return done(undefined, 'off');

  let newSeq: Int32Array | undefined;
  if (!loaded.sorted) {
    const tsBySeq = new Float64Array(loaded.count);
    for (const b of loaded.builders) {
      const ts = b.ts.data;
      const seq = b.seq.data;
      for (let r = 0; r < b.count; r++) tsBySeq[seq[r]] = ts[r];
    }
    newSeq = timeOrderRanks(tsBySeq);
  }
  const tables: EventTable[] = loaded.builders.map((b) => buildEventTable(b, customers.count, newSeq));

  let products: ReturnType<typeof loadProducts> = [];
  if (productsFile) {
    try {
      products = loadProducts(productsFile.file, productsFile.format, problems);
    } catch (error) {
      problems.fatal('HER5003', { file: productsFile.file }, `cannot read ${productsFile.file}: ${(error as Error).message}`);
    }
  }
  const dataset = new Dataset(model, customers, tables, strings, products);
  const result = done(dataset, 'off');
  if (cachePath && result.dataset) {
    mkdirSync(options.cacheDir!, { recursive: true });
    writeDatasetCache(cachePath, result.dataset, { diagnostics: result.diagnostics, skipped: result.skipped, ignored: result.ignored });
    result.cache = 'written';
  }
  return result;
}
