// What happens to a message in a backtest: delivered or failed after the channel's latency, then opened and
// clicked at seeded-hash draws from its `simulate` rates. A pure function of (seed, channel, message id,
// send time), so the plan and anything replaying the plan against the engine (the equivalence test) agree.
import type { ChannelDef } from '../config/model.js';
import { unitHash } from '../core/hash.js';
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
  if (unitHash(seed, 'delivered', messageId) >= sim.delivered) return [{ at: deliveredAt, status: 'failed' }];
  const out: SimulatedReceipt[] = [{ at: deliveredAt, status: 'delivered' }];
  if (sim.opened <= 0 || unitHash(seed, 'opened', messageId) >= sim.opened) return out;
  const u = unitHash(seed, 'open-delay', messageId);
  const openedAt = deliveredAt + 60_000 + Math.min(OPEN_DELAY_MAX_MS, Math.round(-Math.log(1 - u) * OPEN_DELAY_MEAN_MS));
  out.push({ at: openedAt, status: 'opened' });
  // `clicked` is a share of delivered messages, like `opened`; every click follows an open.
  if (sim.clicked <= 0 || unitHash(seed, 'clicked', messageId) >= Math.min(1, sim.clicked / sim.opened)) return out;
  out.push({ at: openedAt + 30_000 + Math.round(unitHash(seed, 'click-delay', messageId) * 1_800_000), status: 'clicked' });
  return out;
}
