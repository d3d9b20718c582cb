// The plan's receipts hash the message id on from a kept prefix state instead of joining strings per
// draw; they must stay exactly the draws of unitHash, which the engine side of the equivalence replays.
import { describe, expect, it } from 'vitest';
import type { ChannelDef } from '../../src/config/model.js';
import { unitHash } from '../../src/core/hash.js';
import { simulatedReceipts, type SimulatedReceipt } from '../../src/plan/simulated-receipts.js';

/** The receipts as drawn with unitHash directly (the definition). */
function reference(seed: string, channel: ChannelDef, messageId: string, sentAt: number): SimulatedReceipt[] {
  const sim = channel.simulate;
  const deliveredAt = sentAt + sim.latencyMs;
  if (unitHash(seed, 'delivered', messageId) >= sim.delivered) return [{ at: deliveredAt, status: 'failed' }];
  const out: SimulatedReceipt[] = [{ at: deliveredAt, status: 'delivered' }];
  if (sim.opened <= 0 || unitHash(seed, 'opened', messageId) >= sim.opened) return out;
  const u = unitHash(seed, 'open-delay', messageId);
  const openedAt = deliveredAt + 60_000 + Math.min(72 * 3_600_000, Math.round(-Math.log(1 - u) * 3 * 3_600_000));
  out.push({ at: openedAt, status: 'opened' });
  if (sim.clicked <= 0 || unitHash(seed, 'clicked', messageId) >= Math.min(1, sim.clicked / sim.opened)) return out;
  out.push({ at: openedAt + 30_000 + Math.round(unitHash(seed, 'click-delay', messageId) * 1_800_000), status: 'clicked' });
  return out;
}

describe('simulatedReceipts', () => {
  it('draws exactly what unitHash draws, for any seed and message id', () => {
    const channel = { simulate: { delivered: 0.8, opened: 0.5, clicked: 0.3, latencyMs: 30_000 } } as ChannelDef;
    const seeds = ['42', '7', '', 'seed with ünïcode'];
    for (const seed of seeds) {
      for (let i = 0; i < 2000; i++) {
        const messageId = `journey-${i % 7}:cust-${i * 7919}:${1_700_000_000_000 + i}/step-${i % 3}/1${i % 5 === 0 ? '/2' : ''}${i % 97 === 0 ? 'é' : ''}`;
        const at = 1_700_000_000_000 + i * 60_000;
        expect(simulatedReceipts(seed, channel, messageId, at)).toEqual(reference(seed, channel, messageId, at));
      }
    }
  });
});
