// Hand-made customers and events written as a dataset directory (NDJSON), for plan tests.
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;
// The window starts Monday 1 June 2026, 08:00 UTC (10:00 in Berlin).
export const NOW = Date.parse('2026-06-01T08:00:00Z');

export interface Person {
  id: string;
  attrs?: Record<string, unknown>;
  events: { type: string; at: number; props?: Record<string, unknown> }[];
}

export const contact = (id: string) => ({
  email: `${id}@example.com`,
  phone: `+491510000${id.replace(/\D/g, '').padStart(4, '0')}`,
  first_name: id,
  country: 'DE',
  timezone: 'Europe/Berlin',
  email_opt_in: true,
  sms_opt_in: true,
  push_opt_in: true,
  push_endpoint: `https://push.example/${id}`,
  signed_up_at: new Date(NOW - 400 * DAY).toISOString(),
});

export function purchases(id: string, times: number[], amount = 60) {
  return times.map((at, k) => ({ type: 'purchase', at, props: { order_id: `${id}-o${k}`, amount, product_ids: ['P0009'] } }));
}


export function writeDataset(dir: string, people: readonly Person[]): void {
  writeFileSync(path.join(dir, 'customers.ndjson'), people.map((p) => JSON.stringify({ id: p.id, ...contact(p.id), ...p.attrs })).join('\n') + '\n');
  const events = people
    .flatMap((p) => p.events.map((e) => ({ customer_id: p.id, type: e.type, ts: new Date(e.at).toISOString(), props: e.props ?? {} })))
    .sort((a, b) => a.ts.localeCompare(b.ts));
  writeFileSync(path.join(dir, 'events.ndjson'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  writeFileSync(path.join(dir, 'products.csv'), 'id,name,price,category,url,image\nP0001,Chef knife,25,kitchen,https://shop.example/p/1,\n');
}

/** A small shop: one customer per seed scenario plus a population of one-time buyers. */
export function smallShop(): Person[] {
  const people: Person[] = [
    { id: 'w1', events: [{ type: 'signup', at: NOW + DAY }] },
    { id: 'viewer', events: [{ type: 'product_view', at: NOW - 2 * DAY, props: { product_id: 'P0001', price: 25 } }] },
    { id: 'frequent', events: purchases('frequent', [25, 20, 15, 10, 5].map((d) => NOW - d * DAY)) },
    { id: 'lapsed1', events: purchases('lapsed1', [300, 250, 200, 170, 150, 120].map((d) => NOW - d * DAY)) },
    { id: 'smsonly', attrs: { push_opt_in: false, email: '' }, events: purchases('smsonly', [300, 250, 200, 170, 150, 130].map((d) => NOW - d * DAY)) },
    { id: 'atrisk', events: purchases('atrisk', [340, 320, 300].map((d) => NOW - d * DAY), 90) },
  ];
  for (let i = 0; i < 30; i++) people.push({ id: `pop${i}`, events: purchases(`pop${i}`, [NOW - (10 + i * 11) * DAY], 20 + i) });
  return people;
}
