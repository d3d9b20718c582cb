// The CDNOW 1/10th sample (../shared/datasets/cdnow) in the setting of Fader, Hardie & Lee (2005): weekly
// units, 39-week calibration 1997-01-01 … 1997-09-30, 39-week holdout 1997-10-01 … 1998-06-30.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCdnow, type CdnowData } from '../../../src/analytics/clv/cdnow.js';
import { MS_PER_DAY, summarizeTransactions, type ClvSummary } from '../../../src/analytics/clv/summary.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const datasetsDir = path.resolve(repoRoot, '../shared/datasets');
export const WEEK = 7 * MS_PER_DAY;
export const CALIBRATION_END = Date.UTC(1997, 9, 1);
export const HOLDOUT_END = Date.UTC(1998, 6, 1);

let cached: { data: CdnowData; summary: ClvSummary } | null = null;

export function loadCdnowSample(): { data: CdnowData; summary: ClvSummary } {
  if (cached) return cached;
  const data = parseCdnow(readFileSync(path.join(datasetsDir, 'cdnow/CDNOW_sample.txt'), 'utf8'));
  const summary = summarizeTransactions(data.transactions, { unitMs: WEEK, calibrationEnd: CALIBRATION_END, holdoutEnd: HOLDOUT_END });
  cached = { data, summary };
  return cached;
}

/** Index of a sample customer by its id ("0001" … "2357"). */
export function customerIndex(data: CdnowData, id: string): number {
  const i = data.customerIds.indexOf(id);
  if (i < 0) throw new Error(`no customer ${id}`);
  return i;
}

/** Rounds to n significant figures, for "matches the published value to 3 s.f." assertions. */
export function sig(v: number, n = 3): number {
  return Number(v.toPrecision(n));
}
