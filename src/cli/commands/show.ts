// `herald show <plan.json>`: render a plan saved with `herald plan --out` in any plan format, without the
// configuration or the dataset (CI saves the JSON once and renders markdown and HTML from it).
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Option } from 'commander';
import { PLAN_FORMAT_VERSION, type PlanReport } from '../../plan/plan-report.js';
import { ExitCode, UserError } from '../exit-codes.js';
import type { RegisterCommand } from '../main.js';
import { githubStepSummary, PLAN_FORMATS, planReporters, type PlanFormat } from '../reporters/plan-reporters.js';

/** Codes of `herald show` (for the README's table). */
export const SHOW_CODES = [
  { code: 'HER1050', title: 'plan file cannot be read or is not JSON' },
  { code: 'HER1051', title: 'plan file has an unsupported format_version' },
  { code: 'HER1052', title: 'plan file is not a Herald plan (a required field is missing or has the wrong type)' },
] as const;

type Check = 'string' | 'number' | 'boolean' | 'object' | 'array';

function typeOf(v: unknown): Check | 'null' | 'other' {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  return t === 'string' || t === 'number' || t === 'boolean' || t === 'object' ? t : 'other';
}

/**
 * Checks the shape the reporters read, and names the first field at fault. Not a full schema: enough that
 * a hand-edited or truncated file gives a clear message instead of an internal error in a reporter.
 */
function findShapeProblem(plan: Record<string, unknown>): string | undefined {
  const need = (obj: unknown, at: string, fields: Record<string, Check>): string | undefined => {
    if (typeOf(obj) !== 'object') return `${at || 'the plan'} is not an object`;
    for (const [k, want] of Object.entries(fields)) {
      const got = typeOf((obj as Record<string, unknown>)[k]);
      if (got !== want) return `${at ? `${at}.` : ''}${k} should be ${want === 'array' || want === 'object' ? `an ${want}` : `a ${want}`}${got === 'other' ? '' : `, not ${got}`}`;
    }
    return undefined;
  };
  const each = (list: unknown, at: string, fields: Record<string, Check>, inner?: (x: unknown, at: string) => string | undefined): string | undefined => {
    for (const [i, x] of (list as unknown[]).entries()) {
      const p = need(x, `${at}[${i}]`, fields) ?? inner?.(x, `${at}[${i}]`);
      if (p) return p;
    }
    return undefined;
  };
  const p = plan as Record<string, Record<string, unknown>>;
  return (
    need(plan, '', { project: 'string', currency: 'string', generated: 'object', summary: 'object', configDiff: 'array', segments: 'array', journeys: 'array', channels: 'array', traces: 'array', guards: 'array' }) ??
    need(p.generated, 'generated', { now: 'string', horizon: 'string', seed: 'number', dataset: 'string', masked: 'boolean' }) ??
    need(p.summary, 'summary', { customers: 'number', eventsInHorizon: 'number', journeys: 'number', messages: 'number', cost: 'number', conversions: 'number', changes: 'object', guards: 'object' }) ??
    need(p.summary.changes, 'summary.changes', { added: 'number', changed: 'number', removed: 'number' }) ??
    need(p.summary.guards, 'summary.guards', { ok: 'number', warn: 'number', error: 'number' }) ??
    each(plan.configDiff, 'configDiff', { kind: 'string', name: 'string', change: 'string', file: 'string', line: 'number' }) ??
    each(plan.segments, 'segments', { name: 'string', size: 'number', sample: 'array' }) ??
    each(plan.journeys, 'journeys', { name: 'string', class: 'string', entry: 'string', entered: 'number', heldOut: 'number', converted: 'number', exited: 'number', messages: 'number', cost: 'number', steps: 'array' }, (j, at) =>
      each((j as { steps: unknown }).steps, `${at}.steps`, { id: 'string', kind: 'string', label: 'string', entered: 'number', sent: 'object', delivered: 'number', opened: 'number', clicked: 'number', suppressed: 'object', deferred: 'number', cost: 'number' }),
    ) ??
    each(plan.channels, 'channels', { name: 'string', type: 'string', sent: 'number', delivered: 'number', opened: 'number', clicked: 'number', units: 'number', cost: 'number' }) ??
    each(plan.traces, 'traces', { customer: 'string', contact: 'string', timezone: 'string', entries: 'array' }, (t, at) => each((t as { entries: unknown }).entries, `${at}.entries`, { at: 'string', what: 'string' })) ??
    each(plan.guards, 'guards', { metric: 'string', value: 'number', status: 'string' })
  );
}

/** Parses a saved plan; every failure is a UserError with a HER105x code. */
export function parsePlanReport(text: string, file: string): PlanReport {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UserError('HER1050', `${file} is not valid JSON: ${(error as Error).message}`, ExitCode.invalid, 'pass the file written by `herald plan --out <file>`');
  }
  if (typeOf(data) !== 'object') throw new UserError('HER1052', `${file} is not a Herald plan: expected a JSON object`, ExitCode.invalid);
  const version = (data as Record<string, unknown>).format_version;
  if (version === undefined) throw new UserError('HER1052', `${file} is not a Herald plan: format_version is missing`, ExitCode.invalid, 'pass the file written by `herald plan --out <file>`');
  if (version !== PLAN_FORMAT_VERSION) {
    throw new UserError(
      'HER1051',
      `${file} has format_version ${JSON.stringify(version)}; this herald reads format_version ${PLAN_FORMAT_VERSION}`,
      ExitCode.invalid,
      'make the plan again with `herald plan --out` using this version of herald',
    );
  }
  const problem = findShapeProblem(data as Record<string, unknown>);
  if (problem) throw new UserError('HER1052', `${file} is not a Herald plan: ${problem}`, ExitCode.invalid);
  return data as PlanReport;
}

export const registerShow: RegisterCommand = (program, ctx) => {
  program
    .command('show')
    .description('render a plan saved with `herald plan --out` (text, json, markdown, github or html)')
    .argument('<plan>', 'plan JSON file')
    .addOption(new Option('--format <format>', 'output format').choices(PLAN_FORMATS).default('text'))
    .action((file: string, opts: { format: PlanFormat }) => {
      let text: string;
      try {
        text = readFileSync(path.resolve(ctx.io.cwd, file), 'utf8');
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
        throw new UserError('HER1050', `cannot read plan ${file}: ${reason}`, ExitCode.invalid);
      }
      const report = parsePlanReport(text, file);
      ctx.io.out(planReporters[opts.format](report));
      // As `herald plan` does: in a GitHub job the run's summary page gets the PR markdown.
      if (opts.format === 'github' && ctx.io.env.GITHUB_STEP_SUMMARY) appendFileSync(ctx.io.env.GITHUB_STEP_SUMMARY, githubStepSummary(report));
      ctx.setExit(ExitCode.ok);
    });
};
