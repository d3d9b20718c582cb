// The backtest: drives the shared journey core on a virtual clock over a dataset's real events from `now`
// to `now + horizon`. Event entries and goals come from the data; delivery, opens and clicks are drawn
// from each channel's `simulate` rates with seeded hashes; segment entry is re-evaluated on each event of
// the customer and at every refresh tick (the engine's rule). No wall clock, no Math.random.
import cronParser from 'cron-parser';
import type { ChannelDef, JourneyDef, PolicyDef, Project } from '../config/model.js';
import { advanceRun, listensForGoal, newRunState, type StepContext } from '../core/journey-step.js';
import { unitHash } from '../core/hash.js';
import { mayEnter } from '../core/reentry.js';
import { isValidZone } from '../core/local-time.js';
import type { LedgerView } from '../core/policy-gate.js';
import type { Effect, MessageStatus, RunInput, RunState } from '../core/types.js';
import type { Dataset } from '../dataset/dataset.js';
import type { CompiledExpression, EvalEnv } from '../expr/api.js';
import type { InputSpec, InputValue } from '../model/inputs.js';
import { countSmsSegments, renderMessage, type RenderContext } from '../templates/index.js';
import { CustomerInputs, type DerivedProvider } from './customer-inputs.js';
import { MinHeap } from './min-heap.js';
import { nextAgeOut, segmentConjuncts, type Conjunct } from './segment-gate.js';

export interface SimulationOptions {
  now: number;
  horizonMs: number;
  seed: number;
  /** Customers whose every step is recorded (indices into the dataset). */
  traceCustomers?: readonly number[];
  derived?: DerivedProvider;
  /** Evaluate every customer at every refresh tick (the reference the gated evaluation must equal). */
  exhaustiveTicks?: boolean;
}

export interface StepStats {
  entered: number;
  sent: Record<string, number>;
  delivered: number;
  opened: number;
  clicked: number;
  suppressed: Record<string, number>;
  deferred: number;
  cost: number;
}

export interface JourneyStats {
  entered: number;
  heldOut: number;
  converted: number;
  exited: number;
  messages: number;
  cost: number;
  steps: Map<string, StepStats>;
}

export interface ChannelStats {
  sent: number;
  delivered: number;
  opened: number;
  clicked: number;
  units: number;
  cost: number;
}

export interface TraceRecord {
  at: number;
  journey?: string;
  step?: string;
  what: string;
}

export interface SimulationResult {
  journeys: Map<string, JourneyStats>;
  channels: Map<string, ChannelStats>;
  /** Segment members at `now`. */
  segments: Map<string, Uint8Array>;
  traces: Map<number, TraceRecord[]>;
  eventsInHorizon: number;
  messages: number;
  cost: number;
  conversions: number;
}

type AgendaItem =
  | { at: number; seq: number; kind: 'timer'; journey: number; customer: number; runId: string }
  | { at: number; seq: number; kind: 'receipt'; journey: number; customer: number; messageId: string; status: MessageStatus; channel: string; step: string }
  | { at: number; seq: number; kind: 'tick' }
  | { at: number; seq: number; kind: 'schedule'; journey: number };

type Unscheduled = AgendaItem extends infer T ? (T extends unknown ? Omit<T, 'seq'> : never) : never;

const OPEN_DELAY_MEAN_MS = 3 * 3_600_000;
const OPEN_DELAY_MAX_MS = 72 * 3_600_000;

function emptyStep(): StepStats {
  return { entered: 0, sent: {}, delivered: 0, opened: 0, clicked: 0, suppressed: {}, deferred: 0, cost: 0 };
}

export function simulate(project: Project, dataset: Dataset, options: SimulationOptions): SimulationResult {
  return new Simulation(project, dataset, options).run();
}

class Simulation {
  private readonly journeys: JourneyDef[];
  private readonly stats: JourneyStats[];
  private readonly channelStats = new Map<string, ChannelStats>();
  private readonly runs: Map<number, RunState>[];
  private readonly lastEntry: Map<number, number>[];
  private readonly agenda = new MinHeap<AgendaItem>();
  private seq = 0;
  private readonly inputs: CustomerInputs;
  private readonly profiles = new Map<number, Record<string, unknown>>();
  /** Attributes that conditions and policies read; rendering reads the full profile instead. */
  private readonly profileNames: string[];
  private readonly zones = new Map<number, string>();
  /** Per customer: marketing send times per channel (ascending). */
  private readonly sends = new Map<number, { at: number; channel: string }[]>();
  /** Per channel: send times and running total cost, for budgets. */
  private readonly spendLog = new Map<string, { at: number[]; cumulative: number[] }>();
  private readonly traces = new Map<number, TraceRecord[]>();
  private readonly end: number;
  private readonly inputScratch: InputValue[] = [];
  private readonly inputBuffers = new Map<CompiledExpression, InputValue[]>();
  private readonly policy: Map<string, PolicyDef | undefined> = new Map();
  readonly seedText: string;
  /** Per journey with segment entry: the segment split into conjuncts, and per customer the next tick worth checking. */
  private readonly gates: (SegmentGate | undefined)[];

  constructor(
    private readonly project: Project,
    readonly dataset: Dataset,
    private readonly options: SimulationOptions,
  ) {
    this.journeys = [...project.journeys.values()].sort((a, b) => a.meta.name.localeCompare(b.meta.name));
    this.stats = this.journeys.map((j) => ({
      entered: 0,
      heldOut: 0,
      converted: 0,
      exited: 0,
      messages: 0,
      cost: 0,
      steps: new Map(j.steps.map((s) => [s.id, emptyStep()])),
    }));
    this.runs = this.journeys.map(() => new Map());
    this.lastEntry = this.journeys.map(() => new Map());
    this.inputs = new CustomerInputs(dataset, options.derived);
    this.end = options.now + options.horizonMs;
    this.seedText = String(options.seed);
    for (const c of options.traceCustomers ?? []) this.traces.set(c, []);
    for (const ch of project.channels.values()) {
      this.channelStats.set(ch.meta.name, { sent: 0, delivered: 0, opened: 0, clicked: 0, units: 0, cost: 0 });
    }
    for (const j of this.journeys) this.policy.set(j.meta.name, project.policies.get(j.policy ?? 'default'));
    const names = new Set<string>([project.settings.timezoneAttribute]);
    for (const ch of project.channels.values()) {
      names.add(ch.address);
      if (ch.consent) names.add(ch.consent);
    }
    const addExpr = (e: CompiledExpression | undefined) => e?.attributes.forEach((a) => names.add(a));
    for (const seg of project.segments.values()) addExpr(seg.where);
    for (const j of project.journeys.values()) {
      if (j.entry.kind === 'event') addExpr(j.entry.where);
      addExpr(j.goal?.where);
      for (const step of j.steps) {
        addExpr(step.if);
        if (step.action.kind === 'branch') step.action.branches.forEach((b) => addExpr(b.when));
        if (step.action.kind === 'wait' && step.action.wait.kind === 'event') addExpr(step.action.wait.where);
      }
    }
    this.profileNames = [...names].filter((n) => project.model.attributes.has(n));
    this.gates = this.journeys.map((j) =>
      j.entry.kind === 'segment' ? new SegmentGate(segmentConjuncts(project, j.entry.segment), dataset.customerCount, options.now, project.settings.segmentRefreshMs, project.model.rfm?.monetary.event) : undefined,
    );
  }

  run(): SimulationResult {
    const { now } = this.options;
    // Everyone is evaluated at `now` (the audiences, then the first refresh tick): one columnar pass.
    this.inputs.snapshot(this.segmentInputs([...this.project.segments.keys()]), now);
    const segments = this.audiences(now);
    this.scheduleTicks();
    const timeline = this.dataset.timeline(now, this.end);
    let k = 0;
    for (;;) {
      const top = this.agenda.peek();
      const nextEventAt = k < timeline.count ? timeline.ts[k] : Infinity;
      // At equal times a customer's real event goes first, so a purchase is seen before a send at that instant.
      if (k < timeline.count && (!top || nextEventAt <= top.at)) {
        this.onDatasetEvent(timeline.customer[k], timeline.type[k], timeline.row[k], nextEventAt);
        k++;
        continue;
      }
      if (!top || top.at > this.end) break;
      this.agenda.pop();
      this.onAgenda(top);
    }
    let messages = 0;
    let cost = 0;
    let conversions = 0;
    for (const s of this.stats) {
      messages += s.messages;
      cost += s.cost;
      conversions += s.converted;
    }
    return {
      journeys: new Map(this.journeys.map((j, i) => [j.meta.name, this.stats[i]])),
      channels: this.channelStats,
      segments,
      traces: this.traces,
      eventsInHorizon: timeline.count,
      messages,
      cost,
      conversions,
    };
  }

  // ---- time sources -----------------------------------------------------------------------------

  private push(item: Unscheduled): void {
    (item as AgendaItem).seq = this.seq++;
    this.agenda.push(item as AgendaItem);
  }

  private scheduleTicks(): void {
    const { now } = this.options;
    const refresh = this.project.settings.segmentRefreshMs;
    if (this.journeys.some((j) => j.entry.kind === 'segment')) {
      for (let t = now; t <= this.end; t += refresh) this.push({ at: t, kind: 'tick' });
    }
    this.journeys.forEach((j, index) => {
      if (j.entry.kind !== 'schedule') return;
      const it = cronParser.parseExpression(j.entry.cron, { currentDate: new Date(now), endDate: new Date(this.end), tz: this.project.settings.timezone });
      while (it.hasNext()) this.push({ at: it.next().getTime(), kind: 'schedule', journey: index });
    });
  }

  private onAgenda(item: AgendaItem): void {
    switch (item.kind) {
      case 'tick':
        this.journeys.forEach((j, index) => {
          if (j.entry.kind === 'segment') this.tickSegmentEntry(index, j.entry.segment, item.at);
        });
        return;
      case 'schedule': {
        const j = this.journeys[item.journey];
        if (j.entry.kind !== 'schedule') return;
        const segment = j.entry.segment;
        if (segment) this.enterSegmentMembers(item.journey, segment, item.at);
        else for (let c = 0; c < this.dataset.customerCount; c++) if (this.canEnter(item.journey, c, item.at)) this.enter(item.journey, c, item.at);
        return;
      }
      case 'timer': {
        const run = this.runs[item.journey].get(item.customer);
        if (!run || run.runId !== item.runId || run.wakeAt !== item.at) return; // superseded
        this.advance(item.journey, item.customer, { kind: 'timer', at: item.at });
        return;
      }
      case 'receipt': {
        const step = this.stats[item.journey].steps.get(item.step);
        const ch = this.channelStats.get(item.channel);
        if (item.status !== 'failed' && step && ch) {
          step[item.status as 'delivered' | 'opened' | 'clicked']++;
          ch[item.status as 'delivered' | 'opened' | 'clicked']++;
        }
        this.trace(item.customer, item.at, `${item.status} (${item.channel})`, this.journeys[item.journey].meta.name, item.step);
        const run = this.runs[item.journey].get(item.customer);
        if (run && run.messages[item.messageId]) {
          this.advance(item.journey, item.customer, { kind: 'receipt', at: item.at, messageId: item.messageId, status: item.status });
        }
        return;
      }
    }
  }

  private onDatasetEvent(customer: number, typeId: number, row: number, at: number): void {
    const table = this.dataset.eventTables[typeId];
    let props: Record<string, unknown> | undefined;
    const getProps = () => (props ??= this.dataset.eventProps(table, row));
    this.trace(customer, at, `event ${table.name}`);
    this.journeys.forEach((j, index) => {
      const run = this.runs[index].get(customer);
      if (run && listensForGoal(run, j, at)) {
        this.advance(index, customer, { kind: 'event', at, type: table.name, props: getProps() });
      }
    });
    this.journeys.forEach((j, index) => {
      if (j.entry.kind === 'event') {
        if (j.entry.event !== table.name || !this.canEnter(index, customer, at)) return;
        if (j.entry.where && !this.test(j.entry.where, customer, at, getProps())) return;
        this.enter(index, customer, at, { type: table.name, props: getProps() });
      } else if (j.entry.kind === 'segment') {
        const gate = this.gates[index]!;
        // An event of a type the condition reads may change membership: evaluate now and at the next tick.
        // Any other event cannot make it true before the instant the last tick computed (see SegmentGate).
        if (gate.conjuncts && !gate.types.has(table.name) && gate.earliest[customer] > at) return;
        if (gate.types.has(table.name)) gate.earliest[customer] = 0;
        gate.schedule(customer, at, at);
        if (this.canEnter(index, customer, at) && this.member(j.entry.segment, customer, at, undefined)) this.enter(index, customer, at);
      }
    });
  }

  // ---- entry ------------------------------------------------------------------------------------

  /** A refresh tick: the same answers as evaluating everyone (see segment-gate.ts), at a fraction of the cost. */
  private tickSegmentEntry(journey: number, segment: string, at: number): void {
    const gate = this.gates[journey]!;
    if (!gate.conjuncts || this.options.exhaustiveTicks) return this.enterSegmentMembers(journey, segment, at);
    const memo = new Map<string, boolean>();
    for (const c of gate.due(at)) {
      if (!this.canEnter(journey, c, at)) {
        // Look again when re-entry opens; the end of an active run schedules its own look (see apply).
        gate.schedule(c, this.reentryOpensAt(journey, c), at);
        continue;
      }
      memo.clear();
      let latest = -Infinity;
      let onlyTimeDependent = true;
      let holds = true;
      for (const conjunct of gate.conjuncts) {
        if (this.test(conjunct.expr, c, at, undefined, memo)) continue;
        holds = false;
        if (conjunct.timeDependent) continue;
        onlyTimeDependent = false;
        latest = Math.max(latest, conjunct.since ? this.sinceTurnsTrue(conjunct, c, at) : nextAgeOut(this.dataset, c, conjunct, at));
      }
      gate.earliest[c] = holds || onlyTimeDependent ? 0 : latest;
      if (holds) {
        this.enter(journey, c, at);
        // The run's end schedules the next look, unless it ended already inside enter().
        if (this.runs[journey].get(c)?.status !== 'active') gate.schedule(c, this.reentryOpensAt(journey, c), at);
      } else {
        gate.schedule(c, onlyTimeDependent ? at : latest, at);
      }
    }
  }

  private enterSegmentMembers(journey: number, segment: string, at: number): void {
    this.inputs.snapshot(this.segmentInputs([segment]), at);
    const memo = new Map<string, boolean>();
    for (let c = 0; c < this.dataset.customerCount; c++) {
      if (!this.canEnter(journey, c, at)) continue;
      memo.clear();
      if (this.member(segment, c, at, memo)) this.enter(journey, c, at);
    }
  }

  /** The inputs of these segments and of those they refer to. */
  private segmentInputs(names: string[]): InputSpec[] {
    const out: InputSpec[] = [];
    const seen = new Set<string>();
    const visit = (name: string): void => {
      const def = this.project.segments.get(name);
      if (!def || seen.has(name)) return;
      seen.add(name);
      out.push(...def.where.inputs);
      def.where.segments.forEach(visit);
    };
    names.forEach(visit);
    return out;
  }

  private canEnter(journey: number, customer: number, at: number): boolean {
    const run = this.runs[journey].get(customer);
    return mayEnter(this.journeys[journey], { active: run?.status === 'active', lastEntryAt: this.lastEntry[journey].get(customer) }, at);
  }


  /** For `days_since(X) > K`: the instant it turns true (X changes only with events, which reschedule). */
  private sinceTurnsTrue(conjunct: Conjunct, customer: number, at: number): number {
    const since = conjunct.since;
    if (!since) return -Infinity;
    const x = this.evaluate(since.anchor, customer, at);
    if (typeof x !== 'number') return Infinity; // null stays null until an event
    const t = x + since.threshold * since.unitMs;
    return since.strict ? t + 1 : t;
  }

  /** When a customer who cannot enter now may enter again (Infinity: not without a run ending). */
  private reentryOpensAt(journey: number, customer: number): number {
    const run = this.runs[journey].get(customer);
    if (run && run.status === 'active') return Infinity;
    const last = this.lastEntry[journey].get(customer);
    const r = this.journeys[journey].reentry;
    if (last === undefined || r.kind === 'always') return -Infinity;
    return r.kind === 'after' ? last + r.ms : Infinity;
  }

  private enter(journey: number, customer: number, at: number, event?: { type: string; props: Readonly<Record<string, unknown>> }): void {
    const j = this.journeys[journey];
    this.lastEntry[journey].set(customer, at);
    const state = newRunState(j, this.dataset.customerId(customer), at);
    this.runs[journey].set(customer, state);
    this.stats[journey].entered++;
    this.trace(customer, at, event ? `entered (event ${event.type})` : `entered (${j.entry.kind === 'event' ? 'event' : `segment ${j.entry.kind === 'segment' ? j.entry.segment : (j.entry.segment ?? 'schedule')}`})`, j.meta.name);
    this.advance(journey, customer, { kind: 'enter', at, event });
  }

  // ---- the core ---------------------------------------------------------------------------------

  private advance(journey: number, customer: number, input: RunInput): void {
    const previous = this.runs[journey].get(customer)!;
    const { state, effects } = advanceRun(previous, input, this.context(journey, customer));
    this.runs[journey].set(customer, state);
    for (const e of effects) this.apply(journey, customer, e);
    if (state.status === 'active' && state.wakeAt !== undefined && state.wakeAt !== previous.wakeAt) {
      this.push({ at: state.wakeAt, kind: 'timer', journey, customer, runId: state.runId });
    } else if (state.status === 'active' && state.wakeAt !== undefined && input.kind === 'timer') {
      this.push({ at: state.wakeAt, kind: 'timer', journey, customer, runId: state.runId });
    }
  }

  private context(journey: number, customer: number): StepContext {
    const j = this.journeys[journey];
    return {
      journey: j,
      channels: this.project.channels,
      cascades: this.project.cascades,
      policy: this.policy.get(j.meta.name),
      customer: { id: this.dataset.customerId(customer), profile: this.profile(customer), timezone: this.zone(customer) },
      ledger: this.ledger(customer),
      costOf: (channel, template) => this.costOf(channel, template, customer, journey),
      test: (expr, at, event) => this.test(expr, customer, at, event),
      seed: this.seedText,
    };
  }

  private apply(journey: number, customer: number, e: Effect): void {
    const j = this.journeys[journey];
    const stats = this.stats[journey];
    const name = j.meta.name;
    switch (e.kind) {
      case 'step':
        stats.steps.get(e.step)!.entered++;
        this.trace(customer, e.at, `step ${e.step}`, name, e.step);
        return;
      case 'skip': {
        const s = stats.steps.get(e.step)!;
        s.suppressed.condition = (s.suppressed.condition ?? 0) + 1;
        this.trace(customer, e.at, 'skipped: condition false', name, e.step);
        return;
      }
      case 'send': {
        const channel = this.project.channels.get(e.channel)!;
        const { cost, units } = this.price(channel, e.template, customer, journey);
        const s = stats.steps.get(e.step)!;
        s.sent[e.channel] = (s.sent[e.channel] ?? 0) + 1;
        s.cost += cost;
        stats.messages++;
        stats.cost += cost;
        const ch = this.channelStats.get(e.channel)!;
        ch.sent++;
        ch.units += units;
        ch.cost += cost;
        if (j.class === 'marketing') {
          const list = this.sends.get(customer) ?? [];
          list.push({ at: e.at, channel: e.channel });
          this.sends.set(customer, list);
        }
        const log = this.spendLog.get(e.channel) ?? { at: [], cumulative: [] };
        log.at.push(e.at);
        log.cumulative.push((log.cumulative[log.cumulative.length - 1] ?? 0) + cost);
        this.spendLog.set(e.channel, log);
        this.trace(customer, e.at, `sent ${channel.type} '${e.template}' via ${e.channel}${e.cascade ? ` (cascade step ${e.cascade.index + 1})` : ''}${cost ? `, cost ${cost.toFixed(4)}` : ''}`, name, e.step);
        this.scheduleReceipts(journey, customer, e.messageId, channel, e.step, e.at);
        return;
      }
      case 'suppress': {
        const s = stats.steps.get(e.step)!;
        s.suppressed[e.reason] = (s.suppressed[e.reason] ?? 0) + 1;
        this.trace(customer, e.at, `suppressed ${e.channel}: ${e.reason}${e.cascade ? ' (falls through)' : ''}`, name, e.step);
        return;
      }
      case 'defer':
        stats.steps.get(e.step)!.deferred++;
        this.trace(customer, e.at, `deferred ${e.channel}: ${e.reason} until ${new Date(e.until).toISOString()}`, name, e.step);
        return;
      case 'cascade_stop':
        this.trace(customer, e.at, `cascade stopped: ${e.why}`, name, e.step);
        return;
      case 'goal':
        stats.converted++;
        this.trace(customer, e.at, `goal ${j.goal?.event ?? ''}`.trim(), name);
        return;
      case 'exit':
        this.gates[journey]?.schedule(customer, this.reentryOpensAt(journey, customer), e.at);
        if (e.reason === 'held_out') stats.heldOut++;
        else stats.exited++;
        this.trace(customer, e.at, `exit: ${e.reason}`, name);
        return;
    }
  }

  private scheduleReceipts(journey: number, customer: number, messageId: string, channel: ChannelDef, step: string, at: number): void {
    const sim = channel.simulate;
    const seed = this.seedText;
    const base = { kind: 'receipt' as const, journey, customer, messageId, channel: channel.meta.name, step };
    const deliveredAt = at + sim.latencyMs;
    if (unitHash(seed, 'delivered', messageId) >= sim.delivered) {
      this.push({ ...base, at: deliveredAt, status: 'failed' });
      return;
    }
    this.push({ ...base, at: deliveredAt, status: 'delivered' });
    if (sim.opened <= 0 || unitHash(seed, 'opened', messageId) >= sim.opened) return;
    const u = unitHash(seed, 'open-delay', messageId);
    const openedAt = deliveredAt + 60_000 + Math.min(OPEN_DELAY_MAX_MS, Math.round(-Math.log(1 - u) * OPEN_DELAY_MEAN_MS));
    this.push({ ...base, at: openedAt, status: 'opened' });
    // `clicked` is a share of delivered messages, like `opened`; every click follows an open.
    if (sim.clicked <= 0 || unitHash(seed, 'clicked', messageId) >= Math.min(1, sim.clicked / sim.opened)) return;
    const clickedAt = openedAt + 30_000 + Math.round(unitHash(seed, 'click-delay', messageId) * 1_800_000);
    this.push({ ...base, at: clickedAt, status: 'clicked' });
  }

  // ---- customers, policy, money -----------------------------------------------------------------

  private profile(customer: number): Record<string, unknown> {
    let p = this.profiles.get(customer);
    if (!p) {
      p = this.dataset.profile(customer, this.profileNames);
      this.profiles.set(customer, p);
    }
    return p;
  }

  private zone(customer: number): string {
    let z = this.zones.get(customer);
    if (z === undefined) {
      const own = this.profile(customer)[this.project.settings.timezoneAttribute];
      z = isValidZone(own) ? own : this.project.settings.timezone;
      this.zones.set(customer, z);
    }
    return z;
  }

  private ledger(customer: number): LedgerView {
    return {
      sendTimes: (channels, from, to) => {
        const out: number[] = [];
        for (const s of this.sends.get(customer) ?? []) if (s.at > from && s.at <= to && channels.includes(s.channel)) out.push(s.at);
        return out;
      },
      spend: (channel, from, to) => {
        const log = this.spendLog.get(channel);
        if (!log || log.at.length === 0) return 0;
        const upTo = (t: number) => {
          let lo = 0;
          let hi = log.at.length;
          while (lo < hi) {
            const mid = (lo + hi) >>> 1;
            if (log.at[mid] <= t) lo = mid + 1;
            else hi = mid;
          }
          return lo === 0 ? 0 : log.cumulative[lo - 1];
        };
        return upTo(to) - upTo(from);
      },
    };
  }

  private renderContext(customer: number, journey: number, at: number): RenderContext {
    const run = this.runs[journey].get(customer);
    const settings = this.project.settings;
    const ctx: RenderContext = {
      profile: this.dataset.profile(customer),
      customerId: this.dataset.customerId(customer),
      now: at,
      timezone: this.zone(customer),
      currency: settings.currency,
      locale: settings.locale,
      recentEvents: (type, n) => this.dataset.recentEvents(customer, type, n, at).map((e) => ({ ts: e.ts, props: e.props })),
      product: (id) => this.dataset.product(id) as unknown as Record<string, unknown> | undefined,
    };
    if (run?.entryEvent) ctx.event = run.entryEvent.props;
    if (settings.links.unsubscribe) ctx.unsubscribeUrl = `${settings.links.unsubscribe}/${encodeURIComponent(ctx.customerId)}`;
    if (settings.links.preferences) ctx.preferencesUrl = `${settings.links.preferences}/${encodeURIComponent(ctx.customerId)}`;
    const ltv = this.inputs.value(customer, { kind: 'ltv', key: 'ltv' }, at);
    const num = (v: InputValue) => (typeof v === 'number' ? v : null);
    const d = this.options.derived;
    ctx.derived = { ltv: num(ltv) };
    if (d?.rfm) {
      const rfm = (field: 'r' | 'f' | 'm' | 'score' | 'segment') => d.rfm!(customer, { kind: 'rfm', key: `rfm|${field}`, field }, at);
      const segment = rfm('segment');
      ctx.derived.rfm = { r: num(rfm('r')), f: num(rfm('f')), m: num(rfm('m')), score: num(rfm('score')), segment: typeof segment === 'string' ? segment : null };
    }
    if (d?.clv) ctx.derived.clv = { p_alive: num(d.clv(customer, 'clv|p_alive')) };
    return ctx;
  }

  /** Cost and billing units of one message; SMS per segment counts the rendered text. */
  private price(channel: ChannelDef, template: string, customer: number, journey: number): { cost: number; units: number } {
    if (channel.cost.per === 'message' || channel.type !== 'sms') return { cost: channel.cost.amount, units: 1 };
    const tpl = this.project.templates.get(template);
    if (!tpl?.compiled.sms) return { cost: channel.cost.amount, units: 1 };
    const run = this.runs[journey].get(customer);
    const text = renderMessage(tpl.compiled, 'sms', this.renderContext(customer, journey, run?.enteredAt ?? this.options.now)).text;
    const units = Math.max(1, countSmsSegments(text).segments);
    return { cost: units * channel.cost.amount, units };
  }

  private costOf(channel: ChannelDef, template: string, customer: number, journey: number): number {
    return this.price(channel, template, customer, journey).cost;
  }

  // ---- expressions ------------------------------------------------------------------------------

  test(expr: CompiledExpression, customer: number, at: number, event?: Readonly<Record<string, unknown>>, memo?: Map<string, boolean>): boolean {
    const env = new CustomerEnv(this, expr, customer, at, memo);
    if (event) env.event = event;
    return expr.test(env);
  }

  private evaluate(expr: CompiledExpression, customer: number, at: number): unknown {
    return expr.evaluate(new CustomerEnv(this, expr, customer, at, undefined));
  }

  /** The inputs of `expr` in a buffer of its own (an evaluation never re-enters its own expression). */
  fillInputs(expr: CompiledExpression, customer: number, at: number): InputValue[] {
    if (expr.inputs.length === 0) return this.inputScratch;
    let out = this.inputBuffers.get(expr);
    if (!out) this.inputBuffers.set(expr, (out = new Array<InputValue>(expr.inputs.length)));
    return this.inputs.fill(customer, expr.inputs, at, out);
  }

  /** Just the attributes `expr` reads: conditions over everyone must not keep a profile per customer. */
  attributesFor(expr: CompiledExpression, customer: number): Record<string, unknown> {
    return this.dataset.profile(customer, expr.attributes);
  }

  member(segment: string, customer: number, at: number, memo: Map<string, boolean> | undefined): boolean {
    const def = this.project.segments.get(segment);
    if (!def) return false;
    if (memo === undefined) {
      if (def.where.segments.length === 0) return this.test(def.where, customer, at);
      memo = new Map();
    }
    const known = memo.get(segment);
    if (known !== undefined) return known;
    memo.set(segment, false); // a cycle cannot occur (validated); this only guards re-entrancy
    const result = this.test(def.where, customer, at, undefined, memo);
    memo.set(segment, result);
    return result;
  }

  private audiences(at: number): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    for (const name of this.project.segmentOrder) out.set(name, new Uint8Array(this.dataset.customerCount));
    const memo = new Map<string, boolean>();
    for (let c = 0; c < this.dataset.customerCount; c++) {
      memo.clear();
      for (const name of this.project.segmentOrder) if (this.member(name, c, at, memo)) out.get(name)![c] = 1;
    }
    return out;
  }

  private trace(customer: number, at: number, what: string, journey?: string, step?: string): void {
    const list = this.traces.get(customer);
    if (!list) return;
    const rec: TraceRecord = { at, what };
    if (journey) rec.journey = journey;
    if (step) rec.step = step;
    list.push(rec);
  }
}

/**
 * Which customers a segment-entry journey must look at, tick by tick. Everyone at the first tick; after
 * that a customer is due at the first tick at or after the instant their condition could change.
 */
class SegmentGate {
  private readonly buckets = new Map<number, number[]>();
  private readonly stamp: Int32Array;
  private first = true;
  /** Per customer: before this instant the condition cannot hold without an event of one of `types` (0: unknown). */
  readonly earliest: Float64Array;
  /** Event types the clock-free conjuncts read (RFM and CLV are held fixed over the window). */
  readonly types = new Set<string>();

  constructor(
    readonly conjuncts: Conjunct[] | undefined,
    private readonly customers: number,
    private readonly start: number,
    private readonly refresh: number,
    monetaryEvent: string | undefined,
  ) {
    this.stamp = new Int32Array(customers).fill(-1);
    this.earliest = new Float64Array(customers);
    for (const c of conjuncts ?? []) {
      for (const input of [...c.expr.inputs, ...(c.since?.anchor.inputs ?? [])]) {
        if (input.kind === 'aggregate') this.types.add(input.event);
        if (input.kind === 'ltv' && monetaryEvent) this.types.add(monetaryEvent);
      }
    }
  }

  private tickOf(t: number): number {
    return Math.ceil((t - this.start) / this.refresh);
  }

  /** Due at the first tick at or after `t`, and never at the tick of `at` itself (already handled). */
  schedule(customer: number, t: number, at: number): void {
    if (t === Infinity) return;
    const k = Math.max(this.tickOf(t), this.tickOf(at) + (t <= at ? 1 : 0), 0);
    let bucket = this.buckets.get(k);
    if (!bucket) this.buckets.set(k, (bucket = []));
    bucket.push(customer);
  }

  /** Customers due at the tick at `at`, each once, in index order (deterministic). */
  due(at: number): number[] {
    const k = this.tickOf(at);
    if (this.first) {
      this.first = false;
      this.buckets.delete(k);
      return Array.from({ length: this.customers }, (_, i) => i);
    }
    const bucket = this.buckets.get(k);
    this.buckets.delete(k);
    if (!bucket) return [];
    const out: number[] = [];
    for (const c of bucket) {
      if (this.stamp[c] === k) continue;
      this.stamp[c] = k;
      out.push(c);
    }
    return out.sort((a, b) => a - b);
  }
}

/**
 * What one evaluation of a compiled expression may read. The generated code reads each field at most once
 * and only those its expression uses, so the getters compute nothing an expression does not need.
 */
class CustomerEnv implements EvalEnv {
  event?: Readonly<Record<string, unknown>>;
  readonly bucketSeed: string;

  constructor(
    private readonly sim: Simulation,
    private readonly expr: CompiledExpression,
    private readonly customer: number,
    readonly now: number,
    private memo: Map<string, boolean> | undefined,
  ) {
    this.bucketSeed = sim.seedText;
  }

  get customerId(): string {
    return this.sim.dataset.customerId(this.customer);
  }

  get profile(): Record<string, unknown> {
    return this.sim.attributesFor(this.expr, this.customer);
  }

  get inputs(): InputValue[] {
    return this.sim.fillInputs(this.expr, this.customer, this.now);
  }

  get segment(): (name: string) => boolean {
    const memo = (this.memo ??= new Map());
    return (name) => this.sim.member(name, this.customer, this.now, memo);
  }
}
