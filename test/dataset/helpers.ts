// Shared helpers for the dataset tests: temporary dataset directories and small models.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DataModel, EventDef, FieldDef, FieldType } from '../../src/model/data-model.js';

export function tempDir(prefix = 'herald-ds-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes files (name → content) into a fresh temporary directory and returns it. */
export function datasetDir(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

export function fields(spec: Record<string, FieldType>): Map<string, FieldDef> {
  return new Map(Object.entries(spec).map(([name, type]) => [name, { name, type }]));
}

export function events(spec: Record<string, Record<string, FieldType>>): Map<string, EventDef> {
  return new Map(Object.entries(spec).map(([name, props]) => [name, { name, props: fields(props) }]));
}

export const DAY = 86_400_000;

/** The model imported retail data loads with (a subset of the demo model). */
export const retailModel: DataModel = {
  customerId: 'id',
  attributes: fields({ country: 'string' }),
  events: events({ purchase: { order_id: 'string', amount: 'number', product_ids: 'list<string>' } }),
  rfm: { windowMs: 365 * DAY, monetary: { event: 'purchase', prop: 'amount' } },
};
