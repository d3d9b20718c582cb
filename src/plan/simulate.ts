// The backtest: drives the shared journey core on a virtual clock over a dataset's real events from `now`
// to `now + horizon`. Event entries and goals come from the data; delivery, opens and clicks are drawn
// from each channel's `simulate` rates with seeded hashes; segment entry is re-evaluated on each event of
// the customer and at every refresh tick (the engine's rule). No wall clock, no Math.random.
import cronParser from 'cron-parser';
import type { ChannelDef, JourneyDef, PolicyDef, Project } from '../config/model.js';
import { projectExpressions } from '../config/project-inputs.js';
import { advanceRunInPlace, listensForGoal, newRunState, type CustomerContext, type StepContext } from '../core/journey-step.js';
import { simulatedReceipts } from './simulated-receipts.js';
import { mayEnter } from '../core/reentry.js';
import { isValidZone } from '../core/local-time.js';
import type { LedgerView } from '../core/policy-gate.js';
import type { Effect, MessageStatus, RunInput, RunState } from '../core/types.js';
import { attributeValue, type Dataset } from '../dataset/dataset.js';
import type { CompiledExpression, EvalEnv } from '../expr/api.js';
import type { InputSpec, InputValue } from '../model/inputs.js';
import { countSmsSegments, renderMessage, type RenderContext } from '../templates/index.js';
import { CustomerInputs, type DerivedProvider } from './customer-inputs.js';
import { MinHeap } from './min-heap.js';
import { PerCustomer } from './per-customer.js';
import { fixedOverWindow, neverMembers, nextAgeOut, segmentConjuncts, SegmentGate, type Conjunct } from './segment-gate.js';

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


// Occurrences of a cron in (from, end], per (cron, zone, window): head and base of a plan share the window,
// so the second asks nothing of cron-parser (whose zone arithmetic goes through luxon at every step).
const cronMemo = new Map<string, readonly number[]>();

function cronOccurrences(cron: string, tz: string, from: number, end: number): readonly number[] {
  const key = `${cron}\u0000${tz}\u0000${from}\u0000${end}`;
  let out = cronMemo.get(key);
  if (out === undefined) {
    const it = cronParser.parseExpression(cron, { currentDate: new Date(from), endDate: new Date(end), tz });
    const list: number[] = [];
    // hasNext() finds the next occurrence and forgets it; next() throws where hasNext() would answer false.
    try {
      for (;;) list.push(it.next().getTime());
    } catch {
      // past the end of the window
    }
    if (cronMemo.size > 100) cronMemo.clear();
    cronMemo.set(key, list);
    out = list;
  }
  return out;
}

function emptyStep(): StepStats {
  return { entered: 0, sent: {}, delivered: 0, opened: 0, clicked: 0, suppressed: {}, deferred: 0, cost: 0 };
}

export function simulate(project: Project, dataset: Dataset, options: SimulationOptions): SimulationResult {
  return new Simulation(project, dataset, options).run();
}

class Simulation {
  readonly journeys: JourneyDef[];
  private readonly stats: JourneyStats[];
  private readonly channelStats = new Map<string, ChannelStats>();
  private readonly runs: PerCustomer<RunState>[];
  /** Per journey and customer: when they last entered (NaN: never). */
  private readonly lastEntry: Float64Array[];
  private readonly agenda = new MinHeap<AgendaItem>();
  private seq = 0;
  private readonly inputs: CustomerInputs;
  private readonly profiles: PerCustomer<Record<string, unknown>>;
  /** Profiles of the attributes conditions and policies read (rendering reads the full profile instead). */
  private readonly newProfile: (customer: number) => Record<string, unknown>;
  private readonly zones: PerCustomer<string>;
  /** What runs read of a customer never changes over the window: built once per customer. */
  private readonly contexts: PerCustomer<CustomerContext>;
  /**
   * The last SMS priced: a send is priced for the gate and again when applied, with the same text (the
   * render reads only the customer, the run's entry instant and entry event, all part of the key).
   */
  private lastPrice = { template: '', customer: -1, enteredAt: NaN, event: undefined as unknown, units: 0 };
  /** Per customer: marketing send times per channel (ascending). */
  private readonly sends: PerCustomer<{ at: number; channel: string }[]>;
  /** Per channel: send times and running total cost, for budgets. */
  private readonly spendLog = new Map<string, { at: number[]; cumulative: number[] }>();
  private readonly traces = new Map<number, TraceRecord[]>();
  /** Segment members at `audienceAt` (now), see audiences(). */
  private audience = new Map<string, Uint8Array>();
  private audienceAt = NaN;
  /** 1 for traced customers: trace texts are built only for them. */
  private readonly traced: Uint8Array;
  /** Whether anyone is traced: spares the per-event look into `traced` (a cache miss each). */
  private readonly tracing: boolean;
  private readonly host: HostContext;
  /**
   * True while a run is being entered: the stored run is then still the fresh state, without the entry
   * event, and that is what rendering during the step reads.
   */
  private entering = false;
  private readonly end: number;
  private readonly inputScratch: InputValue[] = [];
  private readonly envs = new Map<CompiledExpression, CustomerEnv>();
  private lastExpr: CompiledExpression | undefined;
  private lastEnv: CustomerEnv | undefined;
  readonly policy: Map<string, PolicyDef | undefined> = new Map();
  readonly seedText: string;
  /** Per journey with segment entry: the segment split into conjuncts, and per customer the next tick worth checking. */
  private readonly gates: (SegmentGate | undefined)[];
  /**
   * Per customer, one record of `stride` numbers: bit j of the first is set once the customer has a run of
   * journey j, of the second when journey j's segment gate never admits them (both only up to 31 journeys,
   * see `bits`); then per segment gate (see gateSlot) the instant before which its condition cannot hold
   * without an event of a type it reads (0: unknown). Events come in time order for customers all over
   * the index, so one record read here replaces a cache miss per journey and gate.
   */
  private readonly state: Float64Array;
  private readonly stride: number;
  private readonly bits: boolean;
  /** Per journey: its gate's place in a customer's record, after the two bit words (-1: no gate). */
  private readonly gateSlot: Int32Array;
  /** Per journey: the event table id of its goal (-1: none). */
  private readonly goalType: Int32Array;
  /** Per event type id: the journeys an event of that type may let in (its event entries, segment entries). */
  private readonly entrants: Int32Array[];
  /** Per segment: customers who are never members inside the window (see neverMembers), once computed. */
  private readonly never = new Map<string, Uint8Array | undefined>();
  private readonly candidates = new Map<Uint8Array, Int32Array>();
  /** Per journey with scheduled segment entry: customers who are never members inside the window. */
  private readonly scheduledNever: (Uint8Array | undefined)[];

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
    const n = dataset.customerCount;
    this.runs = this.journeys.map(() => new PerCustomer(n));
    this.lastEntry = this.journeys.map(() => new Float64Array(n).fill(NaN));
    this.profiles = new PerCustomer(n);
    this.zones = new PerCustomer(n);
    this.contexts = new PerCustomer(n);
    this.sends = new PerCustomer(n);
    this.traced = new Uint8Array(n);
    this.host = new HostContext(this, project);
    this.inputs = new CustomerInputs(dataset, options.derived);
    this.end = options.now + options.horizonMs;
    this.seedText = String(options.seed);
    this.tracing = (options.traceCustomers ?? []).length > 0;
    for (const c of options.traceCustomers ?? []) {
      this.traces.set(c, []);
      if (c >= 0 && c < n) this.traced[c] = 1;
    }
    for (const ch of project.channels.values()) {
      this.channelStats.set(ch.meta.name, { sent: 0, delivered: 0, opened: 0, clicked: 0, units: 0, cost: 0 });
    }
    for (const j of this.journeys) this.policy.set(j.meta.name, project.policies.get(j.policy ?? 'default'));
    const names = new Set<string>([project.settings.timezoneAttribute]);
    for (const ch of project.channels.values()) {
      names.add(ch.address);
      if (ch.consent) names.add(ch.consent);
    }
    for (const e of projectExpressions(project)) e.attributes.forEach((a) => names.add(a));
    this.newProfile = lazyProfiles(dataset, [...names].filter((n) => project.model.attributes.has(n)));
    this.gates = this.journeys.map((j) => {
      if (j.entry.kind !== 'segment') return undefined;
      const conjuncts = segmentConjuncts(project, j.entry.segment);
      const never = this.neverMembersOf(j.entry.segment);
      return new SegmentGate(conjuncts, dataset, options.now, project.settings.segmentRefreshMs, project.model.rfm?.monetary.event, never);
    });
    this.bits = this.journeys.length <= 31;
    let slots = 0;
    this.gateSlot = Int32Array.from(this.gates, (gate) => (gate ? 2 + slots++ : -1));
    this.stride = 2 + slots;
    this.state = new Float64Array(n * this.stride);
    this.gates.forEach((gate, index) => {
      const never = gate?.never;
      if (!never || !this.bits) return;
      const { state, stride } = this;
      for (let c = 0; c < n; c++) if (never[c] === 1) state[stride * c + 1] = state[stride * c + 1] | (1 << index);
    });
    this.goalType = Int32Array.from(this.journeys, (j) => (j.goal ? (dataset.eventTable(j.goal.event)?.id ?? -1) : -1));
    this.entrants = dataset.eventTables.map((table) =>
      Int32Array.from(
        this.journeys.flatMap((j, index) => ((j.entry.kind === 'event' && j.entry.event === table.name) || j.entry.kind === 'segment' ? [index] : [])),
      ),
    );
    this.scheduledNever = this.journeys.map((j) =>
      j.entry.kind === 'schedule' && j.entry.segment ? this.neverMembersOf(j.entry.segment) : undefined,
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
      for (const at of cronOccurrences(j.entry.cron, this.project.settings.timezone, now, this.end)) this.push({ at, kind: 'schedule', journey: index });
    });
  }

  private onAgenda(item: AgendaItem): void {
    switch (item.kind) {
      case 'tick':
        for (let index = 0; index < this.journeys.length; index++) {
          const entry = this.journeys[index].entry;
          if (entry.kind === 'segment') this.tickSegmentEntry(index, entry.segment, item.at);
        }
        return;
      case 'schedule': {
        const j = this.journeys[item.journey];
        if (j.entry.kind !== 'schedule') return;
        const segment = j.entry.segment;
        if (segment) this.enterSegmentMembers(item.journey, segment, item.at, this.scheduledNever[item.journey]);
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
        if (this.tracing && this.traced[item.customer]) this.trace(item.customer, item.at, `${item.status} (${item.channel})`, this.journeys[item.journey].meta.name, item.step);
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
    // Materialised once, on first need, and shared by every journey that sees this event.
    let props: Record<string, unknown> | undefined;
    if (this.tracing && this.traced[customer]) this.trace(customer, at, `event ${table.name}`);
    const state = this.state;
    const base = this.stride * customer;
    const bits = this.bits;
    const hasRun = bits ? state[base] : -1;
    const never = bits ? state[base + 1] : 0;
    if (hasRun !== 0) {
      const count = this.journeys.length;
      for (let index = 0; index < count; index++) {
        if (((hasRun >>> index) & 1) === 0) continue;
        const run = this.runs[index].get(customer);
        // A run reads an event only as its goal or as the event a wait is for (journey-step's onEvent);
        // any other event would build a step for nothing.
        if (run && (this.goalType[index] === typeId || (run.waiting?.kind === 'event' && run.waiting.event === table.name)) && listensForGoal(run, this.journeys[index], at)) {
          props ??= this.dataset.eventProps(table, row);
          this.advance(index, customer, { kind: 'event', at, type: table.name, props });
        }
      }
    }
    const entrants = this.entrants[typeId];
    for (let k = 0; k < entrants.length; k++) {
      const index = entrants[k];
      if (((never >>> index) & 1) === 1) continue;
      const entry = this.journeys[index].entry;
      if (entry.kind === 'event') {
        if (!this.canEnter(index, customer, at)) continue;
        if (entry.where && !this.test(entry.where, customer, at, (props ??= this.dataset.eventProps(table, row)))) continue;
        this.enter(index, customer, at, { type: table.name, props: (props ??= this.dataset.eventProps(table, row)) });
      } else if (entry.kind === 'segment') {
        const gate = this.gates[index]!;
        if (!bits && gate.never?.[customer] === 1) continue;
        // An event of a type the condition reads may change membership: evaluate now and at the next tick.
        // Any other event cannot make it true before the instant the last tick computed (see SegmentGate).
        const reads = gate.readsType[typeId] === 1;
        const earliest = base + this.gateSlot[index];
        if (gate.conjuncts && !reads && state[earliest] > at) continue;
        if (reads) state[earliest] = 0;
        gate.schedule(customer, at, at);
        if (this.canEnter(index, customer, at) && this.member(entry.segment, customer, at, undefined)) this.enter(index, customer, at);
      }
    }
  }


  // ---- entry ------------------------------------------------------------------------------------

  /** A refresh tick: the same answers as evaluating everyone (see segment-gate.ts), at a fraction of the cost. */
  private tickSegmentEntry(journey: number, segment: string, at: number): void {
    const gate = this.gates[journey]!;
    if (!gate.conjuncts || this.options.exhaustiveTicks) return this.enterSegmentMembers(journey, segment, at);
    const memo = new Map<string, boolean>();
    const due = gate.due(at);
    for (let i = 0; i < due.length; i++) {
      const c = due[i];
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
        // Nothing the other conjuncts say can bring that forward.
        if (latest === Infinity) break;
      }
      this.state[this.stride * c + this.gateSlot[journey]] = holds || onlyTimeDependent ? 0 : latest;
      if (holds) {
        this.enter(journey, c, at);
        // The run's end schedules the next look, unless it ended already inside enter().
        if (this.runs[journey].get(c)?.status !== 'active') gate.schedule(c, this.reentryOpensAt(journey, c), at);
      } else {
        gate.schedule(c, onlyTimeDependent ? at : latest, at);
      }
    }
  }

  private enterSegmentMembers(journey: number, segment: string, at: number, never?: Uint8Array): void {
    const candidates = never ? this.candidatesOf(never) : undefined;
    // A columnar pass costs a walk over every customer's rows; when the bound leaves few candidates,
    // their own rows are cheaper (the same values: see CustomerInputs).
    if (!candidates || candidates.length * 8 > this.dataset.customerCount) this.inputs.snapshot(this.segmentInputs([segment]), at);
    const memo = new Map<string, boolean>();
    const count = candidates ? candidates.length : this.dataset.customerCount;
    for (let k = 0; k < count; k++) {
      const c = candidates ? candidates[k] : k;
      if (!this.canEnter(journey, c, at)) continue;
      memo.clear();
      if (this.member(segment, c, at, memo)) this.enter(journey, c, at);
    }
  }

  /** The customers a never-members bound leaves, in index order; one list per bound. */
  private candidatesOf(never: Uint8Array): Int32Array {
    let list = this.candidates.get(never);
    if (list === undefined) {
      let n = 0;
      for (let c = 0; c < never.length; c++) if (never[c] === 0) n++;
      list = new Int32Array(n);
      for (let c = 0, k = 0; c < never.length; c++) if (never[c] === 0) list[k++] = c;
      this.candidates.set(never, list);
    }
    return list;
  }


  /**
   * Undefined when the segment gives no bound, and always for the exhaustive reference. The bound from
   * conjuncts fixed over the window costs an evaluation per customer: worth it for the segments journeys
   * watch (`fixedToo`), not for one only counted once at the start (that count evaluates everyone anyway).
   */
  private neverMembersOf(segment: string, fixedToo = true): Uint8Array | undefined {
    if (this.options.exhaustiveTicks) return undefined;
    if (this.never.has(segment)) return this.never.get(segment);
    const { now } = this.options;
    const conjuncts = segmentConjuncts(this.project, segment);
    let never = neverMembers(this.dataset, conjuncts, now, this.end);
    if (!fixedToo) return never;
    // A conjunct fixed over the window (say an RFM segment and a consent) that is false now stays false.
    const fixed = (conjuncts ?? []).filter(fixedOverWindow);
    if (fixed.length > 0) {
      never ??= new Uint8Array(this.dataset.customerCount);
      for (let c = 0; c < never.length; c++) {
        if (never[c] === 1) continue;
        for (const conjunct of fixed) {
          if (this.test(conjunct.expr, c, now)) continue;
          never[c] = 1;
          break;
        }
      }
    }
    this.never.set(segment, never);
    return never;
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
    if (run !== undefined && run.status === 'active') return false;
    const last = this.lastEntry[journey][customer];
    return mayEnter(this.journeys[journey], { active: false, lastEntryAt: last === last ? last : undefined }, at);
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
    const last = this.lastEntry[journey][customer];
    const r = this.journeys[journey].reentry;
    if (last !== last || r.kind === 'always') return -Infinity;
    return r.kind === 'after' ? last + r.ms : Infinity;
  }

  private enter(journey: number, customer: number, at: number, event?: { type: string; props: Readonly<Record<string, unknown>> }): void {
    const j = this.journeys[journey];
    this.lastEntry[journey][customer] = at;
    const state = newRunState(j, this.dataset.customerId(customer), at);
    this.runs[journey].set(customer, state);
    if (this.bits) this.state[this.stride * customer] = this.state[this.stride * customer] | (1 << journey);
    this.stats[journey].entered++;
    if (this.traced[customer]) this.trace(customer, at, event ? `entered (event ${event.type})` : `entered (${j.entry.kind === 'event' ? 'event' : `segment ${j.entry.kind === 'segment' ? j.entry.segment : (j.entry.segment ?? 'schedule')}`})`, j.meta.name);
    this.advance(journey, customer, { kind: 'enter', at, event });
  }

  // ---- the core ---------------------------------------------------------------------------------

  private advance(journey: number, customer: number, input: RunInput): void {
    const state = this.runs[journey].get(customer)!;
    const previousWake = state.wakeAt;
    this.entering = input.kind === 'enter';
    let effects: Effect[];
    try {
      effects = advanceRunInPlace(state, input, this.host.bind(journey, customer));
    } finally {
      this.entering = false;
    }
    for (const e of effects) this.apply(journey, customer, e);
    if (state.status === 'active' && state.wakeAt !== undefined && state.wakeAt !== previousWake) {
      this.push({ at: state.wakeAt, kind: 'timer', journey, customer, runId: state.runId });
    } else if (state.status === 'active' && state.wakeAt !== undefined && input.kind === 'timer') {
      this.push({ at: state.wakeAt, kind: 'timer', journey, customer, runId: state.runId });
    }
  }

  /** What a run needs of its customer: id, the attributes conditions and policies read, time zone. */
  customerContext(customer: number): CustomerContext {
    let context = this.contexts.get(customer);
    if (context === undefined) {
      context = { id: this.dataset.customerId(customer), profile: this.profile(customer), timezone: this.zone(customer) };
      this.contexts.set(customer, context);
    }
    return context;
  }

  private apply(journey: number, customer: number, e: Effect): void {
    const j = this.journeys[journey];
    const stats = this.stats[journey];
    const name = j.meta.name;
    switch (e.kind) {
      case 'step':
        stats.steps.get(e.step)!.entered++;
        if (this.traced[customer]) this.trace(customer, e.at, `step ${e.step}`, name, e.step);
        return;
      case 'skip': {
        const s = stats.steps.get(e.step)!;
        s.suppressed.condition = (s.suppressed.condition ?? 0) + 1;
        if (this.traced[customer]) this.trace(customer, e.at, 'skipped: condition false', name, e.step);
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
          const list = this.sends.get(customer);
          if (list) list.push({ at: e.at, channel: e.channel });
          else this.sends.set(customer, [{ at: e.at, channel: e.channel }]);
        }
        const log = this.spendLog.get(e.channel) ?? { at: [], cumulative: [] };
        log.at.push(e.at);
        log.cumulative.push((log.cumulative[log.cumulative.length - 1] ?? 0) + cost);
        this.spendLog.set(e.channel, log);
        if (this.traced[customer]) this.trace(customer, e.at, `sent ${channel.type} '${e.template}' via ${e.channel}${e.cascade ? ` (cascade step ${e.cascade.index + 1})` : ''}${cost ? `, cost ${cost.toFixed(4)}` : ''}`, name, e.step);
        this.scheduleReceipts(journey, customer, e.messageId, channel, e.step, e.at);
        return;
      }
      case 'suppress': {
        const s = stats.steps.get(e.step)!;
        s.suppressed[e.reason] = (s.suppressed[e.reason] ?? 0) + 1;
        if (this.traced[customer]) this.trace(customer, e.at, `suppressed ${e.channel}: ${e.reason}${e.cascade ? ' (falls through)' : ''}`, name, e.step);
        return;
      }
      case 'defer':
        stats.steps.get(e.step)!.deferred++;
        if (this.traced[customer]) this.trace(customer, e.at, `deferred ${e.channel}: ${e.reason} until ${new Date(e.until).toISOString()}`, name, e.step);
        return;
      case 'cascade_stop':
        if (this.traced[customer]) this.trace(customer, e.at, `cascade stopped: ${e.why}`, name, e.step);
        return;
      case 'goal':
        stats.converted++;
        if (this.traced[customer]) this.trace(customer, e.at, `goal ${j.goal?.event ?? ''}`.trim(), name);
        return;
      case 'exit':
        this.gates[journey]?.schedule(customer, this.reentryOpensAt(journey, customer), e.at);
        if (e.reason === 'held_out') stats.heldOut++;
        else stats.exited++;
        if (this.traced[customer]) this.trace(customer, e.at, `exit: ${e.reason}`, name);
        return;
    }
  }

  private scheduleReceipts(journey: number, customer: number, messageId: string, channel: ChannelDef, step: string, at: number): void {
    const name = channel.meta.name;
    for (const r of simulatedReceipts(this.seedText, channel, messageId, at)) {
      this.push({ at: r.at, kind: 'receipt', journey, customer, messageId, status: r.status, channel: name, step });
    }
  }

  // ---- customers, policy, money -----------------------------------------------------------------

  profile(customer: number): Record<string, unknown> {
    let p = this.profiles.get(customer);
    if (!p) {
      p = this.newProfile(customer);
      this.profiles.set(customer, p);
    }
    return p;
  }

  zone(customer: number): string {
    let z = this.zones.get(customer);
    if (z === undefined) {
      const own = this.profile(customer)[this.project.settings.timezoneAttribute];
      z = isValidZone(own) ? own : this.project.settings.timezone;
      this.zones.set(customer, z);
    }
    return z;
  }

  /** Times of a customer's marketing sends on any of `channels` in (from, to], ascending. */
  sendTimes(customer: number, channels: readonly string[], from: number, to: number): number[] {
    const out: number[] = [];
    for (const s of this.sends.get(customer) ?? []) if (s.at > from && s.at <= to && channels.includes(s.channel)) out.push(s.at);
    return out;
  }

  /** Money spent on `channel` across all customers in (from, to]. */
  spend(channel: string, from: number, to: number): number {
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
    if (run?.entryEvent && !this.entering) ctx.event = run.entryEvent.props;
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
    const enteredAt = run?.enteredAt ?? this.options.now;
    const event = run?.entryEvent && !this.entering ? run.entryEvent.props : undefined;
    const last = this.lastPrice;
    if (last.template !== template || last.customer !== customer || last.enteredAt !== enteredAt || last.event !== event) {
      const text = renderMessage(tpl.compiled, 'sms', this.renderContext(customer, journey, enteredAt)).text;
      last.template = template;
      last.customer = customer;
      last.enteredAt = enteredAt;
      last.event = event;
      last.units = Math.max(1, countSmsSegments(text).segments);
    }
    return { cost: last.units * channel.cost.amount, units: last.units };
  }

  costOf(channel: ChannelDef, template: string, customer: number, journey: number): number {
    return this.price(channel, template, customer, journey).cost;
  }

  // ---- expressions ------------------------------------------------------------------------------

  /** The environment `expr` is evaluated in, one per expression: an evaluation never re-enters its own expression. */
  private envOf(expr: CompiledExpression, customer: number, at: number, event: Readonly<Record<string, unknown>> | undefined, memo: Map<string, boolean> | undefined): CustomerEnv {
    // Loops over customers test one expression many times in a row: the last one is checked first.
    let env = expr === this.lastExpr ? this.lastEnv : this.envs.get(expr);
    if (env === undefined) {
      env = new CustomerEnv(this, expr, { out: new Array<InputValue>(expr.inputs.length), version: -1, columns: [], nanIsNull: expr.inputs.map(CustomerInputs.nanIsNull) });
      this.envs.set(expr, env);
    }
    this.lastExpr = expr;
    this.lastEnv = env;
    env.customer = customer;
    env.now = at;
    env.event = event;
    env.memo = memo;
    return env;
  }

  test(expr: CompiledExpression, customer: number, at: number, event?: Readonly<Record<string, unknown>>, memo?: Map<string, boolean>): boolean {
    return expr.test(this.envOf(expr, customer, at, event, memo));
  }

  private evaluate(expr: CompiledExpression, customer: number, at: number): unknown {
    return expr.evaluate(this.envOf(expr, customer, at, undefined, undefined));
  }

  /** The inputs of `expr` in its environment's buffer. */
  fillInputs(expr: CompiledExpression, b: InputBuffer, customer: number, at: number): InputValue[] {
    const specs = expr.inputs;
    if (specs.length === 0) return this.inputScratch;
    const inputs = this.inputs;
    const out = b.out;
    if (at !== inputs.snapshotAt) return inputs.fill(customer, specs, at, out);
    if (b.version !== inputs.snapshotVersion) {
      b.columns = inputs.snapshotColumnsOf(specs);
      b.version = inputs.snapshotVersion;
    }
    for (let k = 0; k < specs.length; k++) {
      const column = b.columns[k];
      if (column !== undefined) {
        const v = column[customer];
        if (v === v) {
          out[k] = v;
          continue;
        }
        if (b.nanIsNull[k]) {
          out[k] = null;
          continue;
        }
      }
      out[k] = inputs.value(customer, specs[k], at);
    }
    return out;
  }

  /**
   * Just the attributes `expr` reads, decoded when read for the customer its environment is at: one
   * object per expression, not one per evaluation (conditions over everyone must not keep a profile per
   * customer either). The generated code reads them by name only, during the evaluation.
   */
  attributesFor(expr: CompiledExpression, env: { customer: number }): Record<string, unknown> {
    const view: Record<string, unknown> = {};
    for (const name of expr.attributes) {
      const column = this.dataset.customers.columns.get(name);
      Object.defineProperty(view, name, {
        enumerable: true,
        get: () => (column ? attributeValue(column, env.customer) : null),
      });
    }
    return view;
  }

  member(segment: string, customer: number, at: number, memo: Map<string, boolean> | undefined): boolean {
    if (at === this.audienceAt) {
      const column = this.audience.get(segment);
      if (column) return column[customer] === 1;
    }
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

  /**
   * Every segment's members at `at`, segment by segment in dependency order, so that `segment(…)` reads
   * the column of a segment already done; `member` at that instant reads them too (the first tick).
   */
  private audiences(at: number): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    this.audience = out;
    this.audienceAt = at;
    for (const name of this.project.segmentOrder) {
      const def = this.project.segments.get(name);
      const column = new Uint8Array(this.dataset.customerCount);
      // `at` is the window's start, so a customer who is never a member inside it is not one now.
      const never = at === this.options.now ? this.neverMembersOf(name, false) : undefined;
      if (def) for (let c = 0; c < column.length; c++) if (never?.[c] !== 1 && this.test(def.where, c, at)) column[c] = 1;
      out.set(name, column);
    }
    return out;
  }

  trace(customer: number, at: number, what: string, journey?: string, step?: string): void {
    const list = this.traces.get(customer);
    if (!list) return;
    const rec: TraceRecord = { at, what };
    if (journey) rec.journey = journey;
    if (step) rec.step = step;
    list.push(rec);
  }
}

const CUSTOMER = Symbol('customer');
const VALUES = Symbol('values');

/**
 * Profiles whose attributes are decoded when first read: a run's sends read two or three of the dozen
 * that conditions and policies name, and decoding all of them for every customer with a run cost more than
 * the sends; each send reads its address again, so a value once decoded is kept. Read by name only (the
 * gate indexes address and consent); nothing enumerates them.
 */
function lazyProfiles(dataset: Dataset, names: readonly string[]): (customer: number) => Record<string, unknown> {
  const proto: Record<string, unknown> = {};
  names.forEach((name, k) => {
    const column = dataset.customers.columns.get(name);
    Object.defineProperty(proto, name, {
      enumerable: true,
      get(this: { [CUSTOMER]: number; [VALUES]: unknown[] }) {
        const values = this[VALUES];
        let value = values[k];
        if (value === undefined) {
          value = column ? attributeValue(column, this[CUSTOMER]) : null;
          values[k] = value;
        }
        return value;
      },
    });
  });
  return (customer) => {
    const profile = Object.create(proto) as Record<string, unknown> & { [CUSTOMER]: number; [VALUES]: unknown[] };
    profile[CUSTOMER] = customer;
    profile[VALUES] = new Array<unknown>(names.length);
    return profile;
  };
}

/** An expression's input values and, for the current snapshot, the columns it reads. */
interface InputBuffer {
  out: InputValue[];
  version: number;
  columns: (Float64Array | undefined)[];
  nanIsNull: boolean[];
}

/**
 * What one evaluation of a compiled expression may read. The generated code reads each field at most once
 * and only those its expression uses, so the getters compute nothing an expression does not need.
 */
class CustomerEnv implements EvalEnv {
  event?: Readonly<Record<string, unknown>>;
  readonly bucketSeed: string;
  customer = 0;
  now = 0;
  memo: Map<string, boolean> | undefined;
  private attributes: Record<string, unknown> | undefined;
  private readonly member = (name: string): boolean => this.sim.member(name, this.customer, this.now, (this.memo ??= new Map()));

  constructor(
    private readonly sim: Simulation,
    private readonly expr: CompiledExpression,
    private readonly buffer: InputBuffer,
  ) {
    this.bucketSeed = sim.seedText;
  }

  get customerId(): string {
    return this.sim.dataset.customerId(this.customer);
  }

  get profile(): Record<string, unknown> {
    return (this.attributes ??= this.sim.attributesFor(this.expr, this));
  }

  get inputs(): InputValue[] {
    return this.sim.fillInputs(this.expr, this.buffer, this.customer, this.now);
  }

  get segment(): (name: string) => boolean {
    return this.member;
  }
}

/**
 * The journey core's view of the host for one advance: one object re-pointed at each run, since the core
 * keeps nothing of it after advanceRunInPlace returns and no advance happens inside another.
 */
class HostContext implements StepContext {
  journey!: JourneyDef;
  policy?: PolicyDef;
  customer!: CustomerContext;
  readonly channels: Project['channels'];
  readonly cascades: Project['cascades'];
  readonly seed: string;
  readonly ledger: LedgerView;
  private journeyIndex = 0;
  private customerIndex = 0;

  constructor(
    private readonly sim: Simulation,
    project: Project,
  ) {
    this.channels = project.channels;
    this.cascades = project.cascades;
    this.seed = sim.seedText;
    this.ledger = {
      sendTimes: (channels, from, to) => sim.sendTimes(this.customerIndex, channels, from, to),
      spend: (channel, from, to) => sim.spend(channel, from, to),
    };
  }

  bind(journey: number, customer: number): this {
    const j = this.sim.journeys[journey];
    this.journeyIndex = journey;
    this.customerIndex = customer;
    this.journey = j;
    this.policy = this.sim.policy.get(j.meta.name);
    this.customer = this.sim.customerContext(customer);
    return this;
  }

  costOf(channel: ChannelDef, template: string): number {
    return this.sim.costOf(channel, template, this.customerIndex, this.journeyIndex);
  }

  test(expr: CompiledExpression, at: number, event?: Readonly<Record<string, unknown>>): boolean {
    return this.sim.test(expr, this.customerIndex, at, event);
  }
}
