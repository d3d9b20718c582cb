// A tiny host for the journey core: one customer, events at offsets, a virtual clock, an in-memory
// ledger. Scenario tests read like tables: do X at t, expect sends Y.
import type { ChannelDef, Project } from '../../src/config/model.js';
import { advanceRun, newRunState, type StepContext } from '../../src/core/journey-step.js';
import type { LedgerView } from '../../src/core/policy-gate.js';
import type { Effect, MessageStatus, RunInput, RunState } from '../../src/core/types.js';
import type { CompiledExpression, EvalEnv } from '../../src/expr/api.js';
import type { InputSpec, InputValue } from '../../src/model/inputs.js';

export interface ScenarioEvent {
  type: string;
  at: number;
  props: Record<string, unknown>;
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** Naive reference for inputs: a loop over the customer's events (the plan uses the columnar store). */
export function naiveInputs(specs: readonly InputSpec[], events: readonly ScenarioEvent[], now: number, monetary?: { event: string; prop: string }): InputValue[] {
  return specs.map((spec) => {
    if (spec.kind === 'ltv') {
      if (!monetary) return null;
      return events.filter((e) => e.type === monetary.event && e.at <= now).reduce((a, e) => a + Number(e.props[monetary.prop] ?? 0), 0);
    }
    if (spec.kind !== 'aggregate') return null;
    const rows = events.filter(
      (e) => e.type === spec.event && e.at <= now && (spec.withinMs === undefined || e.at > now - spec.withinMs) && (!spec.where || spec.where.test(e.props)),
    );
    const values = rows.map((e) => e.props[spec.prop ?? '']).filter((v): v is number => typeof v === 'number');
    switch (spec.fn) {
      case 'count':
        return rows.length;
      case 'sum':
        return values.reduce((a, b) => a + b, 0);
      case 'avg':
        return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
      case 'min':
        return values.length ? Math.min(...values) : null;
      case 'max':
        return values.length ? Math.max(...values) : null;
      case 'distinct':
        return new Set(rows.map((e) => JSON.stringify(e.props[spec.prop ?? '']))).size;
      case 'first':
        return rows.length ? rows[0].at : null;
      case 'last':
        return rows.length ? rows[rows.length - 1].at : null;
    }
  });
}

export interface SentMessage {
  at: number;
  messageId: string;
  channel: string;
  template: string;
  step: string;
}

export class Scenario {
  state: RunState;
  readonly effects: Effect[] = [];
  readonly events: ScenarioEvent[] = [];
  /** Marketing sends across journeys, for caps (shared with other scenarios through `sharedSends`). */
  readonly sendLog: { at: number; channel: string; cost: number }[];
  now = 0;

  constructor(
    readonly project: Project,
    readonly journeyName: string,
    readonly profile: Record<string, unknown>,
    readonly options: { customerId?: string; timezone?: string; sharedSends?: { at: number; channel: string; cost: number }[]; smsCost?: number } = {},
  ) {
    const journey = project.journeys.get(journeyName);
    if (!journey) throw new Error(`no journey ${journeyName}`);
    this.state = newRunState(journey, options.customerId ?? 'c1', 0);
    this.sendLog = options.sharedSends ?? [];
  }

  private context(): StepContext {
    const journey = this.project.journeys.get(this.journeyName)!;
    const ledger: LedgerView = {
      sendTimes: (channels, from, to) => this.sendLog.filter((s) => channels.includes(s.channel) && s.at > from && s.at <= to).map((s) => s.at),
      spend: (channel, from, to) => this.sendLog.filter((s) => s.channel === channel && s.at > from && s.at <= to).reduce((a, s) => a + s.cost, 0),
    };
    return {
      journey,
      channels: this.project.channels,
      cascades: this.project.cascades,
      policy: this.project.policies.get(journey.policy ?? 'default'),
      customer: { id: this.options.customerId ?? 'c1', profile: this.profile, timezone: this.options.timezone ?? this.project.settings.timezone },
      ledger,
      costOf: (channel: ChannelDef) => (channel.type === 'sms' ? (this.options.smsCost ?? channel.cost.amount) : channel.cost.amount),
      test: (expr: CompiledExpression, at: number, event?: Readonly<Record<string, unknown>>) => {
        const env: EvalEnv = {
          now: at,
          customerId: this.options.customerId ?? 'c1',
          profile: this.profile,
          inputs: naiveInputs(expr.inputs, this.events, at, this.project.model.rfm?.monetary),
        };
        if (event) env.event = event;
        return expr.test(env);
      },
      seed: 'test',
    };
  }

  private step(input: RunInput): Effect[] {
    const { state, effects } = advanceRun(this.state, input, this.context());
    this.state = state;
    this.effects.push(...effects);
    for (const e of effects) {
      if (e.kind === 'send') {
        const ch = this.project.channels.get(e.channel)!;
        this.sendLog.push({ at: e.at, channel: e.channel, cost: ch.type === 'sms' ? (this.options.smsCost ?? ch.cost.amount) : ch.cost.amount });
      }
    }
    return effects;
  }

  /** Moves the clock to `at`, firing due timers on the way. */
  advanceTo(at: number): void {
    while (this.state.status === 'active' && this.state.wakeAt !== undefined && this.state.wakeAt <= at) {
      this.now = this.state.wakeAt;
      this.step({ kind: 'timer', at: this.state.wakeAt });
    }
    this.now = at;
  }

  enter(at = 0, event?: { type: string; props: Record<string, unknown> }): Effect[] {
    this.now = at;
    this.state = { ...this.state, runId: `${this.journeyName}:${this.options.customerId ?? 'c1'}:${at}`, enteredAt: at };
    if (event) this.events.push({ type: event.type, at, props: event.props });
    return this.step({ kind: 'enter', at, event });
  }

  event(at: number, type: string, props: Record<string, unknown> = {}): Effect[] {
    this.advanceTo(at);
    this.events.push({ type, at, props });
    return this.step({ kind: 'event', at, type, props });
  }

  receipt(at: number, messageId: string, status: MessageStatus): Effect[] {
    this.advanceTo(at);
    return this.step({ kind: 'receipt', at, messageId, status });
  }

  sends(): SentMessage[] {
    return this.effects.flatMap((e) => (e.kind === 'send' ? [{ at: e.at, messageId: e.messageId, channel: e.channel, template: e.template, step: e.step }] : []));
  }

  lastSend(channel?: string): SentMessage {
    const s = this.sends().filter((x) => !channel || x.channel === channel);
    if (!s.length) throw new Error(`no send${channel ? ` on ${channel}` : ''}`);
    return s[s.length - 1];
  }
}
