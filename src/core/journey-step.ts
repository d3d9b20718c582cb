// Journey semantics as one pure function: `advanceRun(state, input, ctx) → { state, effects }`.
// The plan drives it on a virtual clock over a dataset; the engine drives it from durable rows. Time
// comes only from inputs, randomness only from seeded hashes, so both hosts get the same answers.
import type { CompiledExpression } from '../expr/api.js';
import type { AdvanceIf, CascadeDef, ChannelDef, JourneyDef, JourneyStep, PolicyDef } from '../config/model.js';
import { assertNever } from '../diagnostics/diagnostic.js';
import { unitHash } from './hash.js';
import { nextLocalTime } from './local-time.js';
import { checkSend, type LedgerView } from './policy-gate.js';
import { STATUS_RANK, type Effect, type MessageStatus, type RunInput, type RunState } from './types.js';

export interface CustomerContext {
  id: string;
  profile: Readonly<Record<string, unknown>>;
  /** IANA zone: the customer's own, else the project's. */
  timezone: string;
}

export interface StepContext {
  journey: JourneyDef;
  channels: ReadonlyMap<string, ChannelDef>;
  cascades: ReadonlyMap<string, CascadeDef>;
  policy?: PolicyDef;
  customer: CustomerContext;
  ledger: LedgerView;
  /** Cost of sending `template` on `channel` to this customer (SMS: per rendered segment). */
  costOf(channel: ChannelDef, template: string): number;
  /** A condition for this customer at `at`; `event` is the triggering event (journey) or the event under test (where). */
  test(expr: CompiledExpression, at: number, event?: Readonly<Record<string, unknown>>): boolean;
  /** Salt for splits; holdouts use only journey and customer so a customer stays in or out. */
  seed: string;
}

export interface StepResult {
  state: RunState;
  effects: Effect[];
}

/** Cascade steps wait this long for a failure receipt when `advance_if: failed` has no `within`. */
const DEFAULT_FAILED_WINDOW_MS = 24 * 3_600_000;

export function isHeldOut(journey: JourneyDef, customerId: string): boolean {
  return journey.holdout > 0 && unitHash('holdout', journey.meta.name, customerId) < journey.holdout;
}

export function newRunState(journey: JourneyDef, customerId: string, at: number): RunState {
  return {
    runId: `${journey.meta.name}:${customerId}:${at}`,
    journey: journey.meta.name,
    customerId,
    enteredAt: at,
    status: 'active',
    visits: {},
    messages: {},
    messageByStep: {},
  };
}

export function advanceRun(previous: RunState, input: RunInput, ctx: StepContext): StepResult {
  const state = cloneRunState(previous);
  return { state, effects: advanceRunInPlace(state, input, ctx) };
}

/**
 * advanceRun without the copy: `state` itself moves on. For a host that keeps exactly one state per run
 * and reads nothing of the old one afterwards (the plan); the effects are the same.
 */
export function advanceRunInPlace(state: RunState, input: RunInput, ctx: StepContext): Effect[] {
  const run = new Run(state, ctx);
  switch (input.kind) {
    case 'enter':
      run.enter(input.at, input.event);
      break;
    case 'timer':
      run.onTimer(input.at);
      break;
    case 'event':
      run.onEvent(input.at, input.type, input.props);
      break;
    case 'receipt':
      run.onReceipt(input.at, input.messageId, input.status);
      break;
    default:
      assertNever(input, 'run input');
  }
  return run.effects;
}

/** A deep copy of the run state (the input is never mutated); faster than structuredClone on this shape. */
export function cloneRunState(s: RunState): RunState {
  const messages: RunState['messages'] = {};
  for (const id in s.messages) messages[id] = { ...s.messages[id] };
  const copy: RunState = { ...s, visits: { ...s.visits }, messages, messageByStep: { ...s.messageByStep } };
  if (s.waiting) copy.waiting = { ...s.waiting };
  if (s.cascade) copy.cascade = { ...s.cascade };
  if (s.entryEvent) copy.entryEvent = { type: s.entryEvent.type, props: s.entryEvent.props };
  return copy;
}

/** The status that satisfies a cascade step, so that the cascade stops there instead of advancing. */
function successStatus(advanceIf: AdvanceIf | undefined): MessageStatus | undefined {
  switch (advanceIf) {
    case undefined:
    case 'failed':
    case 'not_delivered':
      return 'delivered';
    case 'not_opened':
      return 'opened';
    case 'not_clicked':
      return 'clicked';
    case 'no_goal':
      return undefined;
    default:
      return assertNever(advanceIf, 'advance_if');
  }
}

function reached(status: MessageStatus, wanted: MessageStatus): boolean {
  if (wanted === 'failed') return status === 'failed';
  return status !== 'failed' && STATUS_RANK[status] >= STATUS_RANK[wanted];
}

class Run {
  readonly effects: Effect[] = [];
  /** Sends made during this call, so caps and budgets see them before the host records them. */
  private readonly pending: { channel: string; at: number; cost: number; marketing: boolean }[] = [];
  private readonly ledger: LedgerView;

  constructor(
    readonly state: RunState,
    private readonly ctx: StepContext,
  ) {
    const base = ctx.ledger;
    const pending = this.pending;
    this.ledger = {
      sendTimes(channels, from, to) {
        const extra = pending.filter((p) => p.marketing && channels.includes(p.channel) && p.at > from && p.at <= to).map((p) => p.at);
        return extra.length ? [...base.sendTimes(channels, from, to), ...extra].sort((a, b) => a - b) : base.sendTimes(channels, from, to);
      },
      spend(channel, from, to) {
        return base.spend(channel, from, to) + pending.filter((p) => p.channel === channel && p.at > from && p.at <= to).reduce((a, p) => a + p.cost, 0);
      },
    };
  }

  private get journey(): JourneyDef {
    return this.ctx.journey;
  }

  private stepById(id: string): JourneyStep {
    const step = this.journey.stepsById.get(id);
    if (!step) throw new Error(`journey ${this.journey.meta.name} has no step ${id}`);
    return step;
  }

  private nextOf(step: JourneyStep): string | undefined {
    return step.goto ?? this.journey.steps[step.index + 1]?.id;
  }

  enter(at: number, event?: { type: string; props: Readonly<Record<string, unknown>> }): void {
    if (event) this.state.entryEvent = event;
    if (this.journey.goal?.withinMs !== undefined) this.state.goalDeadline = at + this.journey.goal.withinMs;
    if (isHeldOut(this.journey, this.ctx.customer.id)) {
      this.state.status = 'held_out';
      this.effects.push({ kind: 'exit', at, reason: 'held_out' });
      return;
    }
    this.runFrom(this.journey.steps[0].id, at);
  }

  private finish(at: number, status: RunState['status'], reason: Extract<Effect, { kind: 'exit' }>['reason']): void {
    this.state.status = status;
    delete this.state.step;
    delete this.state.waiting;
    delete this.state.wakeAt;
    delete this.state.cascade;
    this.effects.push({ kind: 'exit', at, reason });
  }

  private block(wakeAt: number | undefined, waiting: NonNullable<RunState['waiting']>): void {
    this.state.waiting = waiting;
    if (wakeAt === undefined) delete this.state.wakeAt;
    else this.state.wakeAt = wakeAt;
  }

  private eventProps(): Readonly<Record<string, unknown>> | undefined {
    return this.state.entryEvent?.props;
  }

  /** Runs steps from `id` until one blocks (a wait, a cascade in flight, a deferral) or the run ends. */
  private runFrom(id: string | undefined, at: number): void {
    let current = id;
    while (current !== undefined) {
      const step = this.stepById(current);
      const visits = (this.state.visits[step.id] ?? 0) + 1;
      if (step.maxVisits !== undefined && visits > step.maxVisits) {
        this.finish(at, 'exited', 'max_visits');
        return;
      }
      this.state.visits[step.id] = visits;
      this.state.step = step.id;
      delete this.state.waiting;
      delete this.state.wakeAt;
      this.effects.push({ kind: 'step', at, step: step.id });
      if (step.if && !this.ctx.test(step.if, at, this.eventProps())) {
        this.effects.push({ kind: 'skip', at, step: step.id, why: 'condition' });
        current = this.journey.steps[step.index + 1]?.id;
        continue;
      }
      const outcome = this.execute(step, at);
      if (outcome.kind === 'blocked') return;
      if (outcome.kind === 'ended') return;
      current = outcome.next;
    }
    this.finish(at, 'completed', 'completed');
  }

  private execute(step: JourneyStep, at: number): { kind: 'next'; next: string | undefined } | { kind: 'blocked' } | { kind: 'ended' } {
    const a = step.action;
    switch (a.kind) {
      case 'send': {
        const sent = this.trySend(step, a.channel, a.template, at, undefined);
        if (sent === 'deferred') return { kind: 'blocked' };
        return { kind: 'next', next: this.nextOf(step) };
      }
      case 'cascade': {
        this.state.cascade = { name: a.cascade, step: step.id, index: 0 };
        return this.continueCascade(step, at);
      }
      case 'wait': {
        const w = a.wait;
        switch (w.kind) {
          case 'duration':
            this.block(at + w.ms, { kind: 'timer' });
            return { kind: 'blocked' };
          case 'until':
            this.block(nextLocalTime(at, this.ctx.customer.timezone, w.hour, w.minute), { kind: 'timer' });
            return { kind: 'blocked' };
          case 'message': {
            const messageId = this.state.messageByStep[w.step];
            const message = messageId ? this.state.messages[messageId] : undefined;
            if (message && reached(message.status, w.status)) return { kind: 'next', next: a.onEvent ?? this.nextOf(step) };
            this.block(at + w.timeoutMs, messageId ? { kind: 'message', messageId, status: w.status } : { kind: 'timer' });
            return { kind: 'blocked' };
          }
          case 'event':
            this.block(at + w.timeoutMs, { kind: 'event', event: w.event });
            return { kind: 'blocked' };
          default:
            return assertNever(w, 'wait');
        }
      }
      case 'branch': {
        for (const b of a.branches) if (this.ctx.test(b.when, at, this.eventProps())) return { kind: 'next', next: b.goto };
        return { kind: 'next', next: this.nextOf(step) };
      }
      case 'split': {
        const u = unitHash(this.ctx.seed, 'split', this.journey.meta.name, step.id, this.ctx.customer.id, this.state.visits[step.id] ?? 1);
        let acc = 0;
        for (const arm of a.arms) {
          acc += arm.share;
          if (u < acc) return { kind: 'next', next: arm.goto };
        }
        return { kind: 'next', next: a.arms[a.arms.length - 1].goto };
      }
      case 'exit':
        this.finish(at, 'exited', 'exit_step');
        return { kind: 'ended' };
      case 'noop':
        return { kind: 'next', next: this.nextOf(step) };
      default:
        return assertNever(a, 'step action');
    }
  }

  /** One send through the policy gate. */
  private trySend(step: JourneyStep, channelName: string, template: string, at: number, cascade: { name: string; index: number } | undefined): 'sent' | 'suppressed' | 'deferred' {
    const channel = this.ctx.channels.get(channelName);
    if (!channel) throw new Error(`unknown channel ${channelName}`);
    // Priced only when a budget reads it or the message is sent (an SMS renders its text to count segments).
    let cost: number | undefined;
    const price = (): number => (cost ??= this.ctx.costOf(channel, template));
    const decision = checkSend({
      at,
      channel,
      class: this.journey.class,
      policy: this.ctx.policy,
      profile: this.ctx.customer.profile,
      timezone: this.ctx.customer.timezone,
      ledger: this.ledger,
      cost: price,
      inCascade: cascade !== undefined,
    });
    switch (decision.kind) {
      case 'allow': {
        const cost = price();
        const visit = this.state.visits[step.id] ?? 1;
        const messageId = `${this.state.runId}/${step.id}/${visit}${cascade ? `/${cascade.index}` : ''}`;
        this.state.messages[messageId] = { id: messageId, step: step.id, channel: channelName, template, status: 'sent', sentAt: at, ...(cascade ? { cascadeIndex: cascade.index } : {}) };
        this.state.messageByStep[step.id] = messageId;
        this.pending.push({ channel: channelName, at, cost, marketing: this.journey.class === 'marketing' });
        this.effects.push({ kind: 'send', at, step: step.id, messageId, channel: channelName, template, ...(cascade ? { cascade } : {}) });
        return 'sent';
      }
      case 'suppress':
        this.effects.push({ kind: 'suppress', at, step: step.id, channel: channelName, reason: decision.reason, ...(cascade ? { cascade } : {}) });
        return 'suppressed';
      case 'defer':
        this.effects.push({ kind: 'defer', at, step: step.id, channel: channelName, reason: decision.reason, until: decision.until });
        this.block(decision.until, { kind: 'deferred' });
        return 'deferred';
      default:
        return assertNever(decision, 'gate decision');
    }
  }

  /** Tries cascade steps from the current index until one is sent (and waits) or all fell through. */
  private continueCascade(step: JourneyStep, at: number): { kind: 'next'; next: string | undefined } | { kind: 'blocked' } {
    const c = this.state.cascade!;
    const def = this.ctx.cascades.get(c.name);
    if (!def) throw new Error(`unknown cascade ${c.name}`);
    while (c.index < def.steps.length) {
      const cs = def.steps[c.index];
      const result = this.trySend(step, cs.channel, cs.template, at, { name: c.name, index: c.index });
      if (result === 'deferred') return { kind: 'blocked' };
      if (result === 'suppressed') {
        c.index++;
        continue;
      }
      c.messageId = this.state.messageByStep[step.id];
      const last = c.index === def.steps.length - 1;
      if (last || cs.advanceIf === undefined) {
        // The final channel was used: the cascade has nothing left to try.
        this.effects.push({ kind: 'cascade_stop', at, step: step.id, why: 'exhausted' });
        delete this.state.cascade;
        return { kind: 'next', next: this.nextOf(step) };
      }
      c.deadline = at + (cs.withinMs ?? DEFAULT_FAILED_WINDOW_MS);
      this.block(c.deadline, { kind: 'cascade' });
      return { kind: 'blocked' };
    }
    this.effects.push({ kind: 'cascade_stop', at, step: step.id, why: 'exhausted' });
    delete this.state.cascade;
    return { kind: 'next', next: this.nextOf(step) };
  }

  private leaveCascade(at: number, why: 'success' | 'not_advanced'): void {
    const c = this.state.cascade!;
    const step = this.stepById(c.step);
    this.effects.push({ kind: 'cascade_stop', at, step: step.id, why });
    delete this.state.cascade;
    this.runFrom(this.nextOf(step), at);
  }

  private advanceCascade(at: number): void {
    const c = this.state.cascade!;
    const step = this.stepById(c.step);
    c.index++;
    delete c.messageId;
    delete c.deadline;
    const outcome = this.continueCascade(step, at);
    if (outcome.kind === 'next') this.runFrom(outcome.next, at);
  }

  onTimer(at: number): void {
    if (this.state.status !== 'active' || this.state.wakeAt === undefined || at < this.state.wakeAt) return;
    const waiting = this.state.waiting;
    const step = this.stepById(this.state.step!);
    switch (waiting?.kind) {
      case 'timer':
        this.runFrom(this.nextOf(step), at);
        return;
      case 'message':
      case 'event': {
        const a = step.action;
        const target = a.kind === 'wait' ? (a.onTimeout ?? this.nextOf(step)) : this.nextOf(step);
        this.runFrom(target, at);
        return;
      }
      case 'deferred': {
        delete this.state.waiting;
        delete this.state.wakeAt;
        if (this.state.cascade) {
          const outcome = this.continueCascade(step, at);
          if (outcome.kind === 'next') this.runFrom(outcome.next, at);
        } else {
          const a = step.action;
          if (a.kind !== 'send') return;
          const sent = this.trySend(step, a.channel, a.template, at, undefined);
          if (sent !== 'deferred') this.runFrom(this.nextOf(step), at);
        }
        return;
      }
      case 'cascade': {
        const c = this.state.cascade!;
        const def = this.ctx.cascades.get(c.name)!;
        const cs = def.steps[c.index];
        const message = c.messageId ? this.state.messages[c.messageId] : undefined;
        const status = message?.status ?? 'failed';
        const advance =
          cs.advanceIf === 'no_goal' ||
          (cs.advanceIf === 'not_delivered' && !reached(status, 'delivered')) ||
          (cs.advanceIf === 'not_opened' && !reached(status, 'opened')) ||
          (cs.advanceIf === 'not_clicked' && !reached(status, 'clicked'));
        if (advance) this.advanceCascade(at);
        else this.leaveCascade(at, 'not_advanced');
        return;
      }
      case undefined:
        return;
      default:
        assertNever(waiting, 'waiting');
    }
  }

  onReceipt(at: number, messageId: string, status: MessageStatus): void {
    const message = this.state.messages[messageId];
    if (!message) return;
    // Receipts arrive out of order and repeatedly: a status only moves forward; failure is final.
    if (message.status === 'failed') return;
    if (status !== 'failed' && STATUS_RANK[status] <= STATUS_RANK[message.status]) return;
    message.status = status;
    if (this.state.status !== 'active') return;
    const waiting = this.state.waiting;
    if (waiting?.kind === 'message' && waiting.messageId === messageId && reached(status, waiting.status)) {
      const step = this.stepById(this.state.step!);
      const a = step.action;
      this.runFrom(a.kind === 'wait' ? (a.onEvent ?? this.nextOf(step)) : this.nextOf(step), at);
      return;
    }
    const c = this.state.cascade;
    if (waiting?.kind === 'cascade' && c && c.messageId === messageId) {
      const cs = this.ctx.cascades.get(c.name)!.steps[c.index];
      const success = successStatus(cs.advanceIf);
      if (success && reached(status, success)) {
        this.leaveCascade(at, 'success');
      } else if (status === 'failed' && cs.advanceIf !== 'no_goal') {
        // A failed message can no longer be delivered, opened or clicked: move on now.
        this.advanceCascade(at);
      }
    }
  }

  onEvent(at: number, type: string, props: Readonly<Record<string, unknown>>): void {
    const goal = this.journey.goal;
    const open = this.state.status === 'active' || this.state.status === 'completed';
    if (goal && open && type === goal.event && (this.state.goalDeadline === undefined || at <= this.state.goalDeadline) && at >= this.state.enteredAt) {
      if (!goal.where || this.ctx.test(goal.where, at, props)) {
        this.effects.push({ kind: 'goal', at });
        if (this.state.cascade) this.effects.push({ kind: 'cascade_stop', at, step: this.state.cascade.step, why: 'goal' });
        const wasActive = this.state.status === 'active';
        this.state.status = 'converted';
        delete this.state.step;
        delete this.state.waiting;
        delete this.state.wakeAt;
        delete this.state.cascade;
        if (wasActive) this.effects.push({ kind: 'exit', at, reason: 'goal' });
        return;
      }
    }
    if (this.state.status !== 'active') return;
    const waiting = this.state.waiting;
    if (waiting?.kind === 'event' && waiting.event === type) {
      const step = this.stepById(this.state.step!);
      const a = step.action;
      if (a.kind !== 'wait' || a.wait.kind !== 'event') return;
      if (a.wait.where && !this.ctx.test(a.wait.where, at, props)) return;
      this.runFrom(a.onEvent ?? this.nextOf(step), at);
    }
  }
}

/**
 * Whether an event of `type` at `at` can move the run: the journey's goal event while the run listens for its
 * goal, or the event an active run waits for. Any other event leaves the run exactly as it was (onEvent
 * changes nothing and emits nothing), so a host offers a run only these: the engine then neither copies nor
 * rewrites the run of every customer a batch touches. The plan's replay makes the same test inline on
 * interned event-type ids (simulate.ts), in its hot loop.
 */
export function eventReaches(state: RunState, journey: JourneyDef, type: string, at: number): boolean {
  const waited = state.waiting?.kind === 'event' && state.waiting.event === type;
  return (journey.goal?.event === type || waited) && listensForGoal(state, journey, at);
}

/** Whether a completed or active run still listens to events (goal window open). */
export function listensForGoal(state: RunState, journey: JourneyDef, at: number): boolean {
  if (!journey.goal) return state.status === 'active';
  if (state.status === 'active') return true;
  return state.status === 'completed' && (state.goalDeadline === undefined || at <= state.goalDeadline);
}
