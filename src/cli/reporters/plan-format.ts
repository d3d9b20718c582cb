// Number formatting, ordering and escaping shared by the plan reporters. Everything here is a pure function
// of its input and independent of the process locale (no Intl, no toLocaleString): the same PlanReport
// gives byte-identical output on every machine.
import type { ChannelOutcome, GuardOutcome, GuardStatus, PlanReport, StepOutcome, SuppressionReason } from '../../plan/plan-report.js';

/** Optional CLV section a plan may carry (rendered by src/analytics/clv: an SVG chart and its text summary). */
export interface PlanClvSection {
  svg: string;
  text: string;
}

/**
 * Fields the reporters read when present but the simulation may not fill yet. Kept here as an extension of
 * PlanReport so the reporters work whether or not plan-report.ts declares them.
 */
export type PlanReportView = PlanReport & {
  clv?: PlanClvSection;
  summary: PlanReport['summary'] & { baseMessages?: number; baseConversions?: number };
};

export function view(report: PlanReport): PlanReportView {
  return report as PlanReportView;
}

/** Digits grouped by thousands with ',' (fixed, not locale-dependent). */
function group(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * Rounds half away from zero on the decimal digits as written (1.005 → 1.01, 23.45 → 23.5), which is what a
 * reader checking the sums expects; toFixed alone rounds the binary value (1.005 → "1.00").
 */
function roundDecimal(n: number, decimals: number): number {
  const shifted = Number(`${Math.abs(n)}e${decimals}`);
  const rounded = Number.isFinite(shifted) ? Number(`${Math.round(shifted)}e-${decimals}`) : Math.abs(n);
  return n < 0 ? -rounded : rounded;
}

function fixed(n: number, decimals: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  if (decimals === 0 && Number.isSafeInteger(n)) return n < 1000 && n > -1000 ? String(n) : group(String(n)); // counts: the hot path
  let s = roundDecimal(n, decimals).toFixed(decimals);
  if (/^-0(\.0+)?$/.test(s)) s = s.slice(1); // no "-0.00"
  const neg = s.startsWith('-');
  const [whole, frac] = (neg ? s.slice(1) : s).split('.');
  return `${neg ? '-' : ''}${group(whole)}${frac === undefined ? '' : `.${frac}`}`;
}

/** 1,234 for counts; a non-integer (which a count should never be) keeps 2 decimals rather than hiding it. */
export function formatCount(n: number): string {
  return Number.isInteger(n) ? fixed(n, 0) : fixed(n, 2);
}

/** "EUR 1,234.50". */
export function formatMoney(n: number, currency: string): string {
  return `${currency} ${fixed(n, 2)}`;
}

/** "23.4%". */
export function formatPct(n: number): string {
  return `${fixed(n, 1)}%`;
}

/** "+23.4%" / "-5.0%" / "0.0%". */
export function formatSignedPct(n: number): string {
  const s = formatPct(n);
  return n > 0 && s !== '0.0%' ? `+${s}` : s;
}

/** "+12" / "-3" / "0". */
export function formatSignedCount(n: number): string {
  const s = formatCount(n);
  return n > 0 ? `+${s}` : s;
}

/** A guard's value or threshold: integers grouped, anything else with 2 decimals. */
export function formatGuardNumber(n: number): string {
  return Number.isInteger(n) ? fixed(n, 0) : fixed(n, 2);
}

/** Percent change from base to head; null when the base is 0 (nothing to compare with). */
export function changePct(head: number, base: number): number | null {
  if (!Number.isFinite(base) || base === 0) return null;
  return ((head - base) / base) * 100;
}

/** User text (names, labels) on one line, without control characters (a YAML name could hold an ANSI escape). */
export function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return String(s).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${formatCount(n)} ${n === 1 ? word : many}`;
}

export const SUPPRESSION_REASONS: readonly SuppressionReason[] = ['no_address', 'no_consent', 'frequency_cap', 'quiet_hours', 'budget', 'condition'];

/** Channel names of a step's `sent` map in the report's channel order, unknown names after them by name. */
export function sentChannels(step: StepOutcome, channels: readonly ChannelOutcome[]): string[] {
  const order = new Map(channels.map((c, i) => [c.name, i] as const));
  return Object.keys(step.sent).sort((a, b) => {
    const ia = order.get(a) ?? Number.MAX_SAFE_INTEGER;
    const ib = order.get(b) ?? Number.MAX_SAFE_INTEGER;
    return ia !== ib ? ia - ib : a < b ? -1 : a > b ? 1 : 0;
  });
}

export function totalSent(step: StepOutcome): number {
  let n = 0;
  for (const v of Object.values(step.sent)) n += v;
  return n;
}

export function totalSuppressed(step: StepOutcome): number {
  let n = 0;
  for (const r of SUPPRESSION_REASONS) n += step.suppressed[r] ?? 0;
  return n;
}

/** "push 50, email 30" (or "-" when nothing was sent). */
export function describeSent(step: StepOutcome, channels: readonly ChannelOutcome[]): string {
  const parts = sentChannels(step, channels).map((c) => `${oneLine(c)} ${formatCount(step.sent[c])}`);
  return parts.length ? parts.join(', ') : '-';
}

/** "no_consent 12, frequency_cap 3" (or "-"). */
export function describeSuppressed(step: StepOutcome): string {
  const parts = SUPPRESSION_REASONS.filter((r) => (step.suppressed[r] ?? 0) > 0).map((r) => `${r} ${formatCount(step.suppressed[r]!)}`);
  return parts.length ? parts.join(', ') : '-';
}

export function guardThresholds(g: GuardOutcome): string {
  const parts: string[] = [];
  if (g.warnAbove !== undefined) parts.push(`warn > ${formatGuardNumber(g.warnAbove)}`);
  if (g.errorAbove !== undefined) parts.push(`error > ${formatGuardNumber(g.errorAbove)}`);
  return parts.join(', ');
}

export const GUARD_ORDER: readonly GuardStatus[] = ['error', 'warn', 'ok'];

/** "3 changed objects (+1 ~1 -1)", "no configuration changes", or "no base compared". */
export function describeChanges(report: PlanReport): string {
  if (report.generated.base === undefined) return 'no base compared';
  const { added, changed, removed } = report.summary.changes;
  const total = added + changed + removed;
  if (total === 0) return 'no configuration changes';
  return `${plural(total, 'changed object')} (+${added} ~${changed} -${removed})`;
}

/** "EUR 12.34 (base EUR 10.00, +23.4%)". */
export function describeCost(report: PlanReport): string {
  const { cost, baseCost } = report.summary;
  const head = formatMoney(cost, report.currency);
  if (baseCost === undefined) return head;
  const pct = changePct(cost, baseCost);
  return `${head} (base ${formatMoney(baseCost, report.currency)}, ${pct === null ? (cost === 0 ? '0.0%' : 'new') : formatSignedPct(pct)})`;
}

/** "2 guards warn, 1 guard error" / "guards ok" / "" when there are none. */
export function describeGuards(report: PlanReport): string {
  const { warn, error } = report.summary.guards;
  const parts: string[] = [];
  if (error) parts.push(`${plural(error, 'guard')} error`);
  if (warn) parts.push(`${plural(warn, 'guard')} warn`);
  if (!parts.length) return report.guards.length ? `${plural(report.guards.length, 'guard')} ok` : '';
  return parts.join(', ');
}

/**
 * The one-line summary every reporter shows, Terraform style:
 * "Plan: 3 changed objects (+1 ~1 -1); 1,234 messages, EUR 12.34 (base EUR 10.00, +23.4%); 2 guards warn".
 */
export function summaryLine(report: PlanReport): string {
  const guards = describeGuards(report);
  return `Plan: ${describeChanges(report)}; ${plural(report.summary.messages, 'message')}, ${describeCost(report)}${guards ? `; ${guards}` : ''}`;
}

/** Journeys the config diff says were added ('+') or changed ('~'): their step tables matter most. */
export function changedJourneys(report: PlanReport): Map<string, '+' | '~'> {
  const out = new Map<string, '+' | '~'>();
  for (const c of report.configDiff) if (c.kind === 'Journey' && (c.change === '+' || c.change === '~')) out.set(c.name, c.change);
  return out;
}

/** " (new)" / " (changed)" / "". */
export function changeTag(change: '+' | '~' | undefined): string {
  return change === '+' ? ' (new)' : change === '~' ? ' (changed)' : '';
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/**
 * Escapes text for a GitHub-flavoured markdown table cell or inline text: `|` would end the cell, `<`/`>`
 * would open HTML, backticks a code span, `* _ [ ]` emphasis and links. Newlines are folded to spaces.
 */
export function escapeMarkdown(s: string): string {
  return oneLine(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|~])/g, '\\$1');
}
