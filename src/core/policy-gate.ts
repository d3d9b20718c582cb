// Whether one send may happen now, and if not why: the precedence every plan and engine send follows.
//
//   class          address  consent  quiet hours  frequency caps  budget
//   marketing      yes      yes      yes          yes             yes
//   service        yes      yes      yes          no              yes
//   transactional  yes      no       no           no              no
//
// Checked in this order; the first failing rule names the reason.
import type { ChannelDef, MessageClass, PolicyDef } from '../config/model.js';
import { inWindow, nextLocalTime } from './local-time.js';
import type { GateDecision } from './types.js';

export interface LedgerView {
  /** Times of this customer's marketing sends on any of `channels` in (from, to], ascending. */
  sendTimes(channels: readonly string[], from: number, to: number): number[];
  /** Money spent on `channel` across all customers in (from, to]. */
  spend(channel: string, from: number, to: number): number;
}

export interface GateInput {
  at: number;
  channel: ChannelDef;
  class: MessageClass;
  policy?: PolicyDef;
  profile: Readonly<Record<string, unknown>>;
  timezone: string;
  ledger: LedgerView;
  /** Cost of this message (SMS: per segment of the rendered text); a function is called only when a budget reads it. */
  cost: number | (() => number);
  /** In a cascade a capped channel falls through; elsewhere on_cap decides. */
  inCascade: boolean;
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

export function checkSend(input: GateInput): GateDecision {
  const { channel, profile, policy, at } = input;
  if (!present(profile[channel.address])) return { kind: 'suppress', reason: 'no_address' };
  if (input.class === 'transactional') return { kind: 'allow' };
  if (channel.consent !== undefined && profile[channel.consent] !== true) return { kind: 'suppress', reason: 'no_consent' };
  if (!policy) return { kind: 'allow' };
  const q = policy.quietHours;
  if (q && inWindow(at, input.timezone, q.fromMinute, q.toMinute)) {
    if (q.action === 'skip') return { kind: 'suppress', reason: 'quiet_hours' };
    return { kind: 'defer', reason: 'quiet_hours', until: nextLocalTime(at, input.timezone, Math.floor(q.toMinute / 60), q.toMinute % 60) };
  }
  if (input.class === 'marketing') {
    for (const cap of policy.frequency) {
      if (!cap.channels.includes(channel.meta.name)) continue;
      const times = input.ledger.sendTimes(cap.channels, at - cap.perMs, at);
      if (times.length < cap.max) continue;
      if (policy.onCap === 'defer' && !input.inCascade && cap.max > 0) {
        // The cap frees up when the oldest send that keeps it full leaves the window.
        return { kind: 'defer', reason: 'frequency_cap', until: times[times.length - cap.max] + cap.perMs + 1 };
      }
      return { kind: 'suppress', reason: 'frequency_cap' };
    }
  }
  for (const b of policy.budget) {
    if (b.channel !== channel.meta.name) continue;
    const cost = typeof input.cost === 'number' ? input.cost : input.cost();
    if (input.ledger.spend(b.channel, at - b.perMs, at) + cost > b.max + 1e-9) return { kind: 'suppress', reason: 'budget' };
  }
  return { kind: 'allow' };
}
