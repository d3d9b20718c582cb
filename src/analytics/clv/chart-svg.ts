// The calibration check as one self-contained SVG (no scripts, no external fonts) for the HTML report:
// left, actual vs predicted holdout purchases per customer by calibration frequency; right, cumulative
// repeat purchases over time with the calibration end marked. Deterministic output for golden tests.
import type { CalibrationReport } from './calibration.js';

const W = 760;
const H = 300;
const PAD = { top: 34, right: 16, bottom: 44, left: 48 };
const ACTUAL = '#1f2937';
const PREDICTED = '#2563eb';

const n2 = (v: number): string => (Math.round(v * 100) / 100).toString();
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A "nice" upper bound for an axis (1, 2, 2.5, 5 × 10^k). */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const e = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * e >= v) return m * e;
  return 10 * e;
}

function axis(x0: number, y0: number, w: number, h: number, max: number, title: string): string[] {
  const out = [`<text x="${n2(x0)}" y="${n2(y0 - h - 12)}" font-size="12" font-weight="bold">${esc(title)}</text>`];
  out.push(`<line x1="${n2(x0)}" y1="${n2(y0)}" x2="${n2(x0 + w)}" y2="${n2(y0)}" stroke="#9ca3af"/>`);
  for (let k = 0; k <= 4; k++) {
    const y = y0 - (h * k) / 4;
    out.push(`<line x1="${n2(x0)}" y1="${n2(y)}" x2="${n2(x0 + w)}" y2="${n2(y)}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${n2(x0 - 4)}" y="${n2(y + 4)}" font-size="10" text-anchor="end">${n2((max * k) / 4)}</text>`);
  }
  return out;
}

export function renderCalibrationSvg(report: CalibrationReport): string {
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" role="img" aria-label="CLV calibration check">`,
  ];
  const panelW = (W - PAD.left - PAD.right - 60) / 2;
  const h = H - PAD.top - PAD.bottom;
  const y0 = PAD.top + h;

  // Left: grouped bars by calibration frequency.
  const x0 = PAD.left;
  const maxBar = niceMax(Math.max(...report.buckets.map((b) => Math.max(b.actual, b.predicted))));
  out.push(...axis(x0, y0, panelW, h, maxBar, `Holdout purchases per customer (${report.calibrationEnd} → ${report.holdoutEnd})`));
  const group = panelW / report.buckets.length;
  report.buckets.forEach((b, k) => {
    const gx = x0 + k * group;
    const bw = group * 0.35;
    const ha = (b.actual / maxBar) * h;
    const hp = (b.predicted / maxBar) * h;
    out.push(`<rect x="${n2(gx + group * 0.12)}" y="${n2(y0 - ha)}" width="${n2(bw)}" height="${n2(ha)}" fill="${ACTUAL}"><title>actual ${n2(b.actual)}</title></rect>`);
    out.push(`<rect x="${n2(gx + group * 0.12 + bw)}" y="${n2(y0 - hp)}" width="${n2(bw)}" height="${n2(hp)}" fill="${PREDICTED}"><title>predicted ${n2(b.predicted)}</title></rect>`);
    out.push(`<text x="${n2(gx + group / 2)}" y="${n2(y0 + 14)}" font-size="10" text-anchor="middle">${esc(b.label)}</text>`);
  });
  out.push(`<text x="${n2(x0 + panelW / 2)}" y="${n2(y0 + 30)}" font-size="10" text-anchor="middle">repeat purchases in calibration</text>`);

  // Right: cumulative tracking lines.
  const x1 = PAD.left + panelW + 60;
  const pts = report.tracking;
  const maxCum = niceMax(Math.max(1, ...pts.map((p) => Math.max(p.actualCumulative, p.predictedCumulative))));
  out.push(...axis(x1, y0, panelW, h, maxCum, 'Cumulative repeat purchases'));
  const lastPeriod = pts.length > 0 ? pts[pts.length - 1].period : 1;
  const px = (period: number): number => x1 + (period / lastPeriod) * panelW;
  const py = (v: number): number => y0 - (v / maxCum) * h;
  const line = (pick: (p: (typeof pts)[number]) => number, color: string, dash: string): string =>
    `<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts.map((p) => `${n2(px(p.period))},${n2(py(pick(p)))}`).join(' ')}"/>`;
  if (report.trackingCalibrationEnd >= 0 && pts.length > 0) {
    const cx = px(pts[report.trackingCalibrationEnd].period);
    out.push(`<line x1="${n2(cx)}" y1="${n2(y0)}" x2="${n2(cx)}" y2="${n2(y0 - h)}" stroke="#9ca3af" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${n2(cx + 3)}" y="${n2(y0 - h + 10)}" font-size="10">calibration end</text>`);
  }
  out.push(line((p) => p.actualCumulative, ACTUAL, ''));
  out.push(line((p) => p.predictedCumulative, PREDICTED, ' stroke-dasharray="6 3"'));
  out.push(`<text x="${n2(x1 + panelW / 2)}" y="${n2(y0 + 30)}" font-size="10" text-anchor="middle">periods since first purchase (${pts.length > 0 ? pts[0].date : ''} → ${pts.length > 0 ? pts[pts.length - 1].date : ''})</text>`);

  // Legend.
  const ly = H - 8;
  out.push(`<rect x="${PAD.left}" y="${ly - 9}" width="10" height="10" fill="${ACTUAL}"/><text x="${PAD.left + 14}" y="${ly}" font-size="11">actual</text>`);
  out.push(`<rect x="${PAD.left + 70}" y="${ly - 9}" width="10" height="10" fill="${PREDICTED}"/><text x="${PAD.left + 84}" y="${ly}" font-size="11">predicted (BG/NBD)</text>`);
  out.push('</svg>');
  return out.join('\n');
}
