// Inline SVG charts for the HTML plan: a funnel per journey and cost per channel. Static markup only (no
// scripts, no external fonts): every number is also printed as text next to its bar, so the page reads the
// same with scripts off, printed, or as a saved file. Coordinates are rounded to 0.1 so output is stable.
import type { ChannelOutcome, JourneyOutcome } from '../../plan/plan-report.js';
import { escapeHtml as esc, formatCount, formatMoney, totalSent } from './plan-format.js';

const WIDTH = 760;
const LABEL_W = 180;
const VALUE_W = 110;
const BAR_AREA = WIDTH - LABEL_W - VALUE_W;
const BAR_H = 9;
const BAR_GAP = 2;
const ROW_GAP = 12;

export const FUNNEL_SERIES = [
  { key: 'entered', label: 'entered', color: '#64748b' },
  { key: 'sent', label: 'sent', color: '#2563eb' },
  { key: 'delivered', label: 'delivered', color: '#0891b2' },
  { key: 'opened', label: 'opened', color: '#16a34a' },
  { key: 'clicked', label: 'clicked', color: '#ca8a04' },
  { key: 'converted', label: 'converted (journey goal)', color: '#c026d3' },
] as const;

type SeriesKey = (typeof FUNNEL_SERIES)[number]['key'];

const r1 = (v: number): string => (Math.round(v * 10) / 10).toString();

function width(value: number, max: number): number {
  if (!(max > 0) || !(value > 0)) return 0;
  return Math.max(1, (value / max) * BAR_AREA);
}

function legend(y: number): string {
  let x = 0;
  let out = '';
  for (const s of FUNNEL_SERIES) {
    out += `<rect x="${x}" y="${y}" width="10" height="10" fill="${s.color}"/><text x="${x + 14}" y="${y + 9}" font-size="11">${esc(s.label)}</text>`;
    x += 22 + s.label.length * 6.2;
  }
  return out;
}

/** Horizontal bars per step (entered, sent, delivered, opened, clicked), then the journey's conversions. */
export function renderFunnelSvg(j: JourneyOutcome): string {
  type Row = { label: string; bars: Array<{ key: SeriesKey; value: number }> };
  const rows: Row[] = j.steps.map((s) => {
    const sent = totalSent(s);
    const sends = sent > 0 || s.delivered > 0 || s.kind === 'send' || s.kind === 'cascade';
    const bars: Row['bars'] = [{ key: 'entered', value: s.entered }];
    if (sends) bars.push({ key: 'sent', value: sent }, { key: 'delivered', value: s.delivered }, { key: 'opened', value: s.opened }, { key: 'clicked', value: s.clicked });
    return { label: s.id, bars };
  });
  rows.unshift({ label: 'journey entered', bars: [{ key: 'entered', value: j.entered }] });
  rows.push({ label: 'goal reached', bars: [{ key: 'converted', value: j.converted }] });
  let max = 0;
  for (const r of rows) for (const b of r.bars) max = Math.max(max, b.value);

  const color = new Map(FUNNEL_SERIES.map((s) => [s.key, s.color] as const));
  let y = 28;
  let body = '';
  for (const r of rows) {
    const h = r.bars.length * (BAR_H + BAR_GAP);
    const label = r.label.length > 28 ? `${r.label.slice(0, 27)}…` : r.label;
    body += `<text x="${LABEL_W - 8}" y="${r1(y + h / 2 + 3)}" font-size="11" text-anchor="end"><title>${esc(r.label)}</title>${esc(label)}</text>`;
    r.bars.forEach((b, k) => {
      const by = y + k * (BAR_H + BAR_GAP);
      const w = width(b.value, max);
      body += `<rect x="${LABEL_W}" y="${r1(by)}" width="${r1(w)}" height="${BAR_H}" fill="${color.get(b.key)}"><title>${esc(`${r.label}: ${b.key} ${formatCount(b.value)}`)}</title></rect>`;
      body += `<text x="${r1(LABEL_W + w + 4)}" y="${r1(by + BAR_H - 1)}" font-size="9">${esc(formatCount(b.value))}</text>`;
    });
    y += h + ROW_GAP;
  }
  const height = Math.ceil(y);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${esc(`Funnel of journey ${j.name}`)}" font-family="system-ui, sans-serif">` +
    legend(4) +
    body +
    '</svg>'
  );
}

/** Cost per channel: plan (solid) and base (pale), when the base is known. */
export function renderChannelCostSvg(channels: readonly ChannelOutcome[], currency: string): string {
  const withBase = channels.some((c) => c.baseCost !== undefined);
  let max = 0;
  for (const c of channels) max = Math.max(max, c.cost, c.baseCost ?? 0);
  const per = withBase ? 2 * (BAR_H + 5) + BAR_GAP : BAR_H + 5;
  let y = 28;
  let body = '';
  for (const c of channels) {
    const bars: Array<{ label: string; value: number; fill: string }> = [{ label: 'plan', value: c.cost, fill: '#2563eb' }];
    if (withBase) bars.push({ label: 'base', value: c.baseCost ?? 0, fill: '#93c5fd' });
    body += `<text x="${LABEL_W - 8}" y="${r1(y + per / 2 + 2)}" font-size="11" text-anchor="end">${esc(c.name.length > 28 ? `${c.name.slice(0, 27)}…` : c.name)}</text>`;
    bars.forEach((b, k) => {
      const by = y + k * (BAR_H + 5 + BAR_GAP);
      const w = width(b.value, max);
      const text = `${b.label} ${formatMoney(b.value, currency)}`;
      body += `<rect x="${LABEL_W}" y="${r1(by)}" width="${r1(w)}" height="${BAR_H + 5}" fill="${b.fill}"><title>${esc(`${c.name} ${text}`)}</title></rect>`;
      body += `<text x="${r1(LABEL_W + w + 4)}" y="${r1(by + BAR_H + 2)}" font-size="10">${esc(text)}</text>`;
    });
    y += per + ROW_GAP;
  }
  const legendItems = `<rect x="0" y="4" width="10" height="10" fill="#2563eb"/><text x="14" y="13" font-size="11">plan</text>${
    withBase ? '<rect x="60" y="4" width="10" height="10" fill="#93c5fd"/><text x="74" y="13" font-size="11">base</text>' : ''
  }`;
  const height = Math.ceil(y);
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="Cost per channel" font-family="system-ui, sans-serif">${legendItems}${body}</svg>`;
}

/**
 * The CLV chart comes from our own renderer (renderCalibrationSvg), but a saved plan file is input to
 * `herald show`, so anything that could run or fetch is refused rather than embedded.
 */
export function isInertSvg(svg: string): boolean {
  return /^\s*<svg[\s>]/.test(svg) && !/<script|<foreignObject|<iframe|<object|<embed|<image|<use|<!ENTITY|<!DOCTYPE|\son[a-z]+\s*=|href\s*=|url\s*\(|@import/i.test(svg);
}
