// Event histories for the demo campaigns' event types over two years before NOW, made to find the edges of
// a partial history read (batch-read.test.ts, history-cache.test.ts): events exactly on the 7-, 30- and
// 365-day boundaries of NOW and one ms either side, ties in time, and events after NOW.
import type { ValidEvent } from '../../../src/engine/ingest/validate-input.js';
import { prng } from '../../support/prng.js';

export const DAY = 86_400_000;
export const NOW = Date.parse('2026-06-01T12:00:00Z');

const TYPES = ['signup', 'product_view', 'cart_add', 'purchase', 'email_open', 'email_click'];

/** Histories over two years, with events on the 7-, 30- and 365-day boundaries of NOW, ties and future events. */
export function histories(customers: number): ValidEvent[] {
  const rand = prng(7331);
  const out: ValidEvent[] = [];
  const boundaries = [0, 7 * DAY, 30 * DAY, 365 * DAY].flatMap((d) => [NOW - d, NOW - d + 1, NOW - d - 1]);
  for (let c = 0; c < customers; c++) {
    const customerId = `h${String(c).padStart(3, '0')}`;
    const n = Math.floor(rand() * 40);
    let last = NOW - 730 * DAY;
    for (let k = 0; k < n; k++) {
      const type = TYPES[Math.floor(rand() * TYPES.length)];
      const r = rand();
      // A tie with the previous event, a boundary instant, an event after NOW, or a random instant.
      const ts = r < 0.1 ? last : r < 0.3 ? boundaries[Math.floor(rand() * boundaries.length)] : r < 0.35 ? NOW + Math.floor(rand() * 10) * DAY : NOW - Math.floor(rand() * 730 * DAY);
      last = ts;
      const product = `P${String(1 + Math.floor(rand() * 5)).padStart(4, '0')}`;
      const props: Record<string, unknown> =
        type === 'purchase'
          ? { order_id: `o${c}-${k}`, amount: Math.round(rand() * 30000) / 100, product_ids: [product] }
          : type === 'product_view' || type === 'cart_add'
            ? { product_id: product, price: Math.round(rand() * 9000) / 100 }
            : {};
      out.push({ customerId, id: `e${k}`, type, ts, props });
    }
  }
  return out;
}
