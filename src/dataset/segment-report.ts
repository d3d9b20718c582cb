// `herald segments`: sizes, pairwise overlaps and the 5×5 RFM grid (recency × frequency, customers and
// revenue per cell) as one JSON-able object, plus a text renderer. The command itself (config loading,
// flags) lives in cli/; this module only shapes and prints the numbers.
import { computeRfm, type RfmScores } from '../analytics/rfm.js';
import { MS_PER_DAY } from '../model/data-model.js';
import type { AudienceResult, SampleMember } from './audiences.js';
import type { Dataset } from './dataset.js';
import { formatTimestamp } from './parse-scalars.js';

export interface SegmentReport {
  format_version: 1;
  now: string;
  customers: number;
  segments: { name: string; size: number; share: number; sample: SampleMember[] }[];
  /** Every pair of segments, in the segments' order. */
  overlaps: { a: string; b: string; both: number }[];
  rfm: RfmGrid | null;
}

export interface RfmGrid {
  window_days: number;
  monetary: string;
  scored: number;
  unscored: number;
  revenue_total: number;
  /** 25 cells, r from 5 down to 1, f from 1 to 5. Revenue is the monetary sum in the window. */
  cells: { r: number; f: number; customers: number; revenue: number }[];
}

export function buildRfmGrid(rfm: RfmScores): RfmGrid {
  const counts = new Float64Array(25);
  const revenue = new Float64Array(25);
  let total = 0;
  for (let i = 0; i < rfm.r.length; i++) {
    const r = rfm.r[i];
    if (r === 0) continue;
    const cell = (r - 1) * 5 + (rfm.f[i] - 1);
    counts[cell]++;
    const m = rfm.monetary[i];
    revenue[cell] += m;
    total += m;
  }
  const cells: RfmGrid['cells'] = [];
  for (let r = 5; r >= 1; r--) {
    for (let f = 1; f <= 5; f++) {
      const cell = (r - 1) * 5 + (f - 1);
      cells.push({ r, f, customers: counts[cell], revenue: round2(revenue[cell]) });
    }
  }
  return {
    window_days: rfm.settings.windowMs / MS_PER_DAY,
    monetary: `${rfm.settings.monetary.event}.${rfm.settings.monetary.prop}`,
    scored: rfm.scored,
    unscored: rfm.r.length - rfm.scored,
    revenue_total: round2(total),
    cells,
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function buildSegmentReport(dataset: Dataset, result: AudienceResult, options: { rfm?: RfmScores } = {}): SegmentReport {
  const n = result.customerCount;
  const aud = result.audiences;
  const overlaps: SegmentReport['overlaps'] = [];
  for (let a = 0; a < aud.length; a++) {
    for (let b = a + 1; b < aud.length; b++) {
      const x = aud[a].members;
      const y = aud[b].members;
      let both = 0;
      for (let i = 0; i < n; i++) both += x[i] & y[i];
      overlaps.push({ a: aud[a].name, b: aud[b].name, both });
    }
  }
  const rfm = options.rfm ?? result.inputs.rfm ?? computeRfm(dataset, result.now);
  return {
    format_version: 1,
    now: formatTimestamp(result.now),
    customers: n,
    segments: aud.map((s) => ({ name: s.name, size: s.size, share: n === 0 ? 0 : s.size / n, sample: s.sample })),
    overlaps,
    rfm: rfm ? buildRfmGrid(rfm) : null,
  };
}

export function renderSegmentReportJson(report: SegmentReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** 1234567 → "1,234,567" (fixed, locale-independent so output is byte-stable). */
export function groupDigits(x: number, decimals = 0): string {
  const [int, frac] = Math.abs(x).toFixed(decimals).split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${x < 0 ? '-' : ''}${grouped}${frac ? `.${frac}` : ''}`;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

export function renderSegmentReportText(report: SegmentReport): string {
  const lines: string[] = [];
  lines.push(`Segments at ${report.now} (${groupDigits(report.customers)} customers)`, '');
  const w = Math.max(7, ...report.segments.map((s) => s.name.length));
  lines.push(`  ${'segment'.padEnd(w)}  ${'customers'.padStart(10)}  ${'share'.padStart(6)}`);
  for (const s of report.segments) {
    lines.push(`  ${s.name.padEnd(w)}  ${groupDigits(s.size).padStart(10)}  ${pct(s.share).padStart(6)}`);
  }
  const sizes = new Map(report.segments.map((s) => [s.name, s.size]));
  const shared = report.overlaps.filter((o) => o.both > 0).sort((x, y) => y.both - x.both);
  lines.push('', 'Overlaps (customers in both)');
  if (shared.length === 0) lines.push('  none');
  for (const o of shared) {
    const pa = pct(o.both / (sizes.get(o.a) || 1));
    const pb = pct(o.both / (sizes.get(o.b) || 1));
    lines.push(`  ${o.a} ∩ ${o.b}: ${groupDigits(o.both)} (${pa} of ${o.a}, ${pb} of ${o.b})`);
  }
  const rfm = report.rfm;
  if (rfm) {
    lines.push(
      '',
      `RFM grid (${rfm.window_days}d window on ${rfm.monetary}; ${groupDigits(rfm.scored)} scored, ${groupDigits(rfm.unscored)} without a purchase in the window)`,
      'customers / revenue per cell; r = recency score (5 = most recent), f = frequency score',
    );
    const cellText = (c: RfmGrid['cells'][number]) => `${groupDigits(c.customers)} / ${groupDigits(c.revenue)}`;
    const cw = Math.max(10, ...rfm.cells.map((c) => cellText(c).length));
    lines.push(`  ${'   '}  ${[1, 2, 3, 4, 5].map((f) => `f=${f}`.padStart(cw)).join('  ')}`);
    for (let r = 5; r >= 1; r--) {
      const row = rfm.cells.filter((c) => c.r === r);
      lines.push(`  r=${r}  ${row.map((c) => cellText(c).padStart(cw)).join('  ')}`);
    }
    lines.push(`  revenue in window: ${groupDigits(rfm.revenue_total, 2)}`);
  }
  return `${lines.join('\n')}\n`;
}
