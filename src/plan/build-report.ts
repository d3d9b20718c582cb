// Turns simulation results (head and, when compared, base) into the PlanReport every reporter renders.
import type { JourneyDef, Project } from '../config/model.js';
import { formatDuration } from '../config/duration.js';
import type { Dataset } from '../dataset/dataset.js';
import { maskEmail, maskPhone } from '../dataset/mask.js';
import { diffConfig } from './config-diff.js';
import type { ChannelOutcome, CustomerTrace, GuardOutcome, JourneyOutcome, PlanReport, SegmentOutcome, StepOutcome, SuppressionReason } from './plan-report.js';
import { PLAN_FORMAT_VERSION } from './plan-report.js';
import type { SimulationResult } from './simulate.js';

export interface ReportInput {
  head: Project;
  base?: { project: Project | undefined; result: SimulationResult | undefined; ref: string };
  dataset: Dataset;
  datasetLabel: string;
  result: SimulationResult;
  now: number;
  horizonMs: number;
  seed: number;
  unmask: boolean;
  traceCustomers: readonly number[];
}

const SAMPLE_SIZE = 5;

function round(n: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export class Masker {
  private readonly emailAttrs: string[];
  private readonly phoneAttrs: string[];
  constructor(
    private readonly project: Project,
    private readonly unmask: boolean,
  ) {
    const attrs = [...project.model.attributes.values()];
    this.emailAttrs = attrs.filter((a) => a.pii === 'email').map((a) => a.name);
    this.phoneAttrs = attrs.filter((a) => a.pii === 'phone').map((a) => a.name);
  }

  contact(profile: Readonly<Record<string, unknown>>): string {
    const parts: string[] = [];
    for (const a of this.emailAttrs) if (typeof profile[a] === 'string' && profile[a]) parts.push(this.unmask ? String(profile[a]) : maskEmail(String(profile[a])));
    for (const a of this.phoneAttrs) if (typeof profile[a] === 'string' && profile[a]) parts.push(this.unmask ? String(profile[a]) : maskPhone(String(profile[a])));
    return parts.join(' ') || '(no contact)';
  }

  /** Free text (trace lines) may quote attribute values; scrub anything that looks like an email or phone. */
  text(s: string): string {
    if (this.unmask) return s;
    return s.replace(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g, (m) => maskEmail(m)).replace(/\+?\d[\d ()-]{7,}\d/g, (m) => maskPhone(m));
  }
}

function entryLabel(j: JourneyDef): string {
  const e = j.entry;
  if (e.kind === 'event') return `event ${e.event}${e.where ? ` where ${e.where.source}` : ''}`;
  if (e.kind === 'segment') return `segment ${e.segment}`;
  return `schedule ${e.cron}${e.segment ? ` + segment ${e.segment}` : ''}`;
}

function stepLabel(project: Project, j: JourneyDef, id: string): { kind: string; label: string } {
  const step = j.stepsById.get(id)!;
  const a = step.action;
  const cond = step.if ? ` if ${step.if.source}` : '';
  switch (a.kind) {
    case 'send':
      return { kind: 'send', label: `${a.channel}: ${a.template}${cond}` };
    case 'cascade': {
      const c = project.cascades.get(a.cascade);
      return { kind: 'cascade', label: `cascade ${a.cascade} (${c?.steps.map((s) => s.channel).join(' → ') ?? '?'})${cond}` };
    }
    case 'wait': {
      const w = a.wait;
      const label =
        w.kind === 'duration'
          ? `wait ${formatDuration(w.ms)}`
          : w.kind === 'until'
            ? `wait until ${String(w.hour).padStart(2, '0')}:${String(w.minute).padStart(2, '0')} local`
            : w.kind === 'message'
              ? `wait for ${w.step} ${w.status} (timeout ${formatDuration(w.timeoutMs)})`
              : `wait for ${w.event} (timeout ${formatDuration(w.timeoutMs)})`;
      return { kind: 'wait', label: label + cond };
    }
    case 'branch':
      return { kind: 'branch', label: `branch (${a.branches.length} ways)${cond}` };
    case 'split':
      return { kind: 'split', label: `split ${a.arms.map((x) => `${x.goto} ${Math.round(x.share * 100)}%`).join(' / ')}` };
    case 'exit':
      return { kind: 'exit', label: 'exit' };
    case 'noop':
      return { kind: 'noop', label: 'noop' };
  }
}

export function buildReport(input: ReportInput): PlanReport {
  const { head, result, dataset } = input;
  const masker = new Masker(head, input.unmask);
  const baseResult = input.base?.result;

  const segments: SegmentOutcome[] = [...head.segments.values()]
    .sort((a, b) => a.meta.name.localeCompare(b.meta.name))
    .map((s) => {
      const members = result.segments.get(s.meta.name);
      let size = 0;
      const sample: string[] = [];
      if (members) {
        for (let c = 0; c < members.length; c++) {
          if (!members[c]) continue;
          size++;
          if (sample.length < SAMPLE_SIZE) sample.push(`${dataset.customerId(c)} ${masker.contact(dataset.profile(c))}`);
        }
      }
      const out: SegmentOutcome = { name: s.meta.name, size, sample };
      if (s.meta.description) out.description = s.meta.description;
      if (input.base) {
        const bm = baseResult?.segments.get(s.meta.name);
        const baseSize = bm ? bm.reduce((a, v) => a + v, 0) : null;
        out.baseSize = baseSize;
        out.change = size - (baseSize ?? 0);
        out.changePct = baseSize ? round(((size - baseSize) / baseSize) * 100, 1) : null;
      }
      return out;
    });

  const journeys: JourneyOutcome[] = [...head.journeys.values()]
    .sort((a, b) => a.meta.name.localeCompare(b.meta.name))
    .map((j) => {
      const st = result.journeys.get(j.meta.name)!;
      const steps: StepOutcome[] = j.steps.map((s) => {
        const x = st.steps.get(s.id)!;
        return {
          id: s.id,
          ...stepLabel(head, j, s.id),
          entered: x.entered,
          sent: { ...x.sent },
          delivered: x.delivered,
          opened: x.opened,
          clicked: x.clicked,
          suppressed: { ...x.suppressed } as Partial<Record<SuppressionReason, number>>,
          deferred: x.deferred,
          cost: round(x.cost),
        };
      });
      const out: JourneyOutcome = {
        name: j.meta.name,
        class: j.class,
        entry: entryLabel(j),
        entered: st.entered,
        heldOut: st.heldOut,
        converted: st.converted,
        exited: st.exited,
        messages: st.messages,
        cost: round(st.cost),
        steps,
      };
      if (j.meta.description) out.description = j.meta.description;
      const b = baseResult?.journeys.get(j.meta.name);
      if (b) out.base = { entered: b.entered, messages: b.messages, cost: round(b.cost), converted: b.converted };
      return out;
    });

  const channels: ChannelOutcome[] = [...head.channels.values()]
    .sort((a, b) => a.meta.name.localeCompare(b.meta.name))
    .map((ch) => {
      const s = result.channels.get(ch.meta.name)!;
      const out: ChannelOutcome = { name: ch.meta.name, type: ch.type, sent: s.sent, delivered: s.delivered, opened: s.opened, clicked: s.clicked, units: s.units, cost: round(s.cost) };
      const b = baseResult?.channels.get(ch.meta.name);
      if (input.base) out.baseCost = round(b?.cost ?? 0);
      return out;
    });

  const traces: CustomerTrace[] = input.traceCustomers
    .map((c) => {
      const rec = result.traces.get(c) ?? [];
      return {
        customer: dataset.customerId(c),
        contact: masker.contact(dataset.profile(c)),
        timezone: String(dataset.profile(c)[head.settings.timezoneAttribute] ?? head.settings.timezone),
        entries: rec.map((r) => ({ at: new Date(r.at).toISOString(), ...(r.journey ? { journey: r.journey } : {}), ...(r.step ? { step: r.step } : {}), what: masker.text(r.what) })),
      };
    })
    .filter((t) => t.entries.some((e) => e.journey));

  const configDiff = input.base ? diffConfig(input.base.project, head) : [];
  const report: PlanReport = {
    format_version: PLAN_FORMAT_VERSION,
    project: head.settings.meta.name,
    currency: head.settings.currency,
    generated: {
      now: new Date(input.now).toISOString(),
      horizon: formatDuration(input.horizonMs),
      seed: input.seed,
      dataset: input.datasetLabel,
      masked: !input.unmask,
    },
    summary: {
      customers: dataset.customerCount,
      eventsInHorizon: result.eventsInHorizon,
      journeys: head.journeys.size,
      messages: result.messages,
      cost: round(result.cost),
      conversions: result.conversions,
      changes: {
        added: configDiff.filter((c) => c.change === '+').length,
        changed: configDiff.filter((c) => c.change === '~').length,
        removed: configDiff.filter((c) => c.change === '-').length,
      },
      guards: { ok: 0, warn: 0, error: 0 },
    },
    configDiff,
    segments,
    journeys,
    channels,
    traces,
    guards: [],
  };
  if (input.base) {
    report.generated.base = input.base.ref;
    report.summary.baseCost = round(baseResult?.cost ?? 0);
    report.summary.baseMessages = baseResult?.messages ?? 0;
    report.summary.baseConversions = baseResult?.conversions ?? 0;
  }
  report.guards = evaluateGuards(head, report);
  for (const g of report.guards) report.summary.guards[g.status]++;
  return report;
}

/** The metrics guards may name. Unknown names are reported by `guardMetricNames`' users as errors. */
export function metricValue(report: PlanReport, metric: string): number | undefined {
  const parts = metric.split('.');
  switch (parts[0]) {
    case 'cost':
      if (metric === 'cost.total') return report.summary.cost;
      if (metric === 'cost.change_pct') return report.summary.baseCost ? round(((report.summary.cost - report.summary.baseCost) / report.summary.baseCost) * 100, 1) : 0;
      return report.channels.find((c) => c.name === parts[1])?.cost;
    case 'messages':
      if (metric === 'messages.total') return report.summary.messages;
      return report.channels.find((c) => c.name === parts[1])?.sent;
    case 'audience':
      if (metric === 'audience.change_pct') return Math.max(0, ...report.segments.map((s) => Math.abs(s.changePct ?? 0)));
      return undefined;
    case 'segment': {
      const s = report.segments.find((x) => x.name === parts[1]);
      if (!s) return undefined;
      return parts[2] === 'size' ? s.size : parts[2] === 'change_pct' ? Math.abs(s.changePct ?? 0) : undefined;
    }
    case 'journey': {
      const j = report.journeys.find((x) => x.name === parts[1]);
      if (!j) return undefined;
      const field = parts[2] as 'entered' | 'messages' | 'cost' | 'converted';
      return ['entered', 'messages', 'cost', 'converted'].includes(field) ? j[field] : undefined;
    }
    default:
      return undefined;
  }
}

function evaluateGuards(project: Project, report: PlanReport): GuardOutcome[] {
  return project.settings.plan.guards.map((g) => {
    const value = metricValue(report, g.metric);
    const v = value ?? NaN;
    const status = value === undefined ? 'error' : g.errorAbove !== undefined && v > g.errorAbove ? 'error' : g.warnAbove !== undefined && v > g.warnAbove ? 'warn' : 'ok';
    const out: GuardOutcome = { metric: g.metric, value: value === undefined ? 0 : round(v, 2), status };
    if (g.warnAbove !== undefined) out.warnAbove = g.warnAbove;
    if (g.errorAbove !== undefined) out.errorAbove = g.errorAbove;
    return out;
  });
}
