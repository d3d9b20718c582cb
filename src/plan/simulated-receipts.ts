// What happens to a message in a backtest: delivered or failed after the channel's latency, then opened and
// clicked at seeded-hash draws from its `simulate` rates. A pure function of (seed, channel, message id,
// send time), so the plan and anything replaying the plan against the engine (the equivalence test) agree.
import type { ChannelDef } from '../config/model.js';
import type { MessageStatus } from '../core/types.js';

const OPEN_DELAY_MEAN_MS = 3 * 3_600_000;
const OPEN_DELAY_MAX_MS = 72 * 3_600_000;

export interface SimulatedReceipt {
  at: number;
  status: MessageStatus;
}

export function simulatedReceipts(seed: string, channel: ChannelDef, messageId: string, sentAt: number): SimulatedReceipt[] {
  const sim = channel.simulate;
  const deliveredAt = sentAt + sim.latencyMs;
  const draw = draws(seed);
  if (draw.unit(draw.delivered, messageId) >= sim.delivered) return [{ at: deliveredAt, status: 'failed' }];
  const out: SimulatedReceipt[] = [{ at: deliveredAt, status: 'delivered' }];
  if (sim.opened <= 0 || draw.unit(draw.opened, messageId) >= sim.opened) return out;
  const u = draw.unit(draw.openDelay, messageId);
  const openedAt = deliveredAt + 60_000 + Math.min(OPEN_DELAY_MAX_MS, Math.round(-Math.log(1 - u) * OPEN_DELAY_MEAN_MS));
  out.push({ at: openedAt, status: 'opened' });
  // `clicked` is a share of delivered messages, like `opened`; every click follows an open.
  if (sim.clicked <= 0 || draw.unit(draw.clicked, messageId) >= Math.min(1, sim.clicked / sim.opened)) return out;
  out.push({ at: openedAt + 30_000 + Math.round(draw.unit(draw.clickDelay, messageId) * 1_800_000), status: 'clicked' });
  return out;
}

/**
 * unitHash(seed, label, messageId) without joining the parts into a new string per draw (a plan draws
 * up to five per message): the FNV-1a state after "seed␟label␟" is kept per seed and label, and only
 * the message id is hashed on. The same numbers as unitHash (test/plan/simulated-receipts.test.ts).
 */
class Draws {
  readonly delivered: number;
  readonly opened: number;
  readonly openDelay: number;
  readonly clicked: number;
  readonly clickDelay: number;

  constructor(seed: string) {
    this.delivered = prefixState(seed, 'delivered');
    this.opened = prefixState(seed, 'opened');
    this.openDelay = prefixState(seed, 'open-delay');
    this.clicked = prefixState(seed, 'clicked');
    this.clickDelay = prefixState(seed, 'click-delay');
  }

  unit(prefix: number, messageId: string): number {
    let h = fnv(prefix, messageId);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return (h >>> 0) / 4294967296;
  }
}

function fnv(state: number, text: string): number {
  let h = state;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

function prefixState(seed: string, label: string): number {
  return fnv(0x811c9dc5, `${seed}\u001f${label}\u001f`);
}

let lastDraws: Draws | undefined;
let lastSeed = '';

function draws(seed: string): Draws {
  if (lastDraws === undefined || lastSeed !== seed) {
    lastDraws = new Draws(seed);
    lastSeed = seed;
  }
  return lastDraws;
}
