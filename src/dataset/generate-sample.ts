// `herald sample generate`: a deterministic shop simulator for the demo model (test/support/demo-model.ts,
// campaigns/herald.yaml). The same options give byte-identical files: all randomness comes from seeded
// streams (one per customer), the end date is a parameter, and nothing reads the clock.
//
// Shape of the shop (what the example campaigns need to have audiences):
// - archetypes: browsers who never buy (30%), one-time buyers (35%), occasional (22%), regulars (10%) and a
//   VIP head (3%) that, with the regulars, holds most of the revenue;
// - regulars and VIPs lapse: 45% of them stop at a random time, so some were loyal and are 90+ days silent;
// - sessions: product views → cart add → purchase, abandoned carts, pure browsing; products by Zipf
//   popularity (s = 1.07); activity at local daytime hours in each customer's time zone;
// - weekly newsletters: opens and clicks for email opt-ins, more for engaged customers;
// - signups grow over time, so the last 30 days hold fresh signups for the welcome journey.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { cumulative, Rng, zipfCdf } from './prng.js';
import { ADJECTIVES, CATEGORIES, COUNTRIES, FIRST_NAMES, HOUR_WEIGHTS, PRODUCT_WORDS } from './sample-vocabulary.js';
import { growF64, growI32, growU8 } from './growable.js';
import { BufferedWriter, csvField } from './write-csv.js';

export interface GenerateOptions {
  customers: number;
  seed: number;
  /** Exclusive end of the data, epoch ms (default 2026-11-01T00:00:00Z: data runs to the end of October). */
  end?: number;
  /** Days of history (default 730). */
  days?: number;
  /** Catalogue size (default: between 200 and 5,000, growing with customers). */
  products?: number;
}

export interface GenerateSummary {
  customers: number;
  products: number;
  events: number;
  byType: Record<string, number>;
  revenue: number;
  /** Share of revenue held by the top 10% of customers by revenue. */
  top10RevenueShare: number;
  first: string;
  last: string;
  files: { file: string; bytes: number }[];
}

export const DEFAULT_END = Date.UTC(2026, 10, 1);
const DAY = 86_400;

const enum T {
  Signup = 0,
  View = 1,
  Cart = 2,
  Purchase = 3,
  Open = 4,
  Click = 5,
}
const TYPE_NAMES = ['signup', 'product_view', 'cart_add', 'purchase', 'email_open', 'email_click'];

const ARCHETYPES = [
  { name: 'browser', weight: 30 },
  { name: 'one_time', weight: 35 },
  { name: 'occasional', weight: 22 },
  { name: 'regular', weight: 10 },
  { name: 'vip', weight: 3 },
] as const;
const ARCH_CDF = cumulative(ARCHETYPES.map((a) => a.weight));
const COUNTRY_CDF = cumulative(COUNTRIES.map((c) => c.weight));
const HOUR_CDF = cumulative(HOUR_WEIGHTS);

interface Catalogue {
  ids: string[];
  prices: Float64Array;
  /** Product index by popularity rank. */
  byRank: Int32Array;
  rankCdf: Float64Array;
}

function makeCatalogue(n: number, seed: number): { catalogue: Catalogue; rows: string[] } {
  const rng = new Rng(seed, 0x7fffffff);
  const width = Math.max(4, String(n).length);
  const ids: string[] = [];
  const prices = new Float64Array(n);
  const rows: string[] = [];
  for (let k = 0; k < n; k++) {
    const id = `P${String(k + 1).padStart(width, '0')}`;
    const category = rng.pick(CATEGORIES);
    const words = PRODUCT_WORDS[category];
    const name = `${rng.pick(ADJECTIVES)} ${rng.pick(words.nouns)}`;
    // log-normal around the category median, rounded to .99 / .49 price points
    const raw = words.median * Math.exp(0.55 * gauss(rng));
    const price = Math.max(2.99, Math.round(raw) - (rng.chance(0.7) ? 0.01 : 0.51));
    ids.push(id);
    prices[k] = Math.round(price * 100) / 100;
    rows.push(
      [id, csvField(name), String(prices[k]), category, `https://shop.example/p/${id}`, `https://shop.example/img/${id}.jpg`].join(','),
    );
  }
  const byRank = Int32Array.from({ length: n }, (_, k) => k);
  for (let k = n - 1; k > 0; k--) {
    const j = rng.int(k + 1);
    [byRank[k], byRank[j]] = [byRank[j], byRank[k]];
  }
  return { catalogue: { ids, prices, byRank, rankCdf: zipfCdf(n, 1.07) }, rows };
}

function gauss(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/** Growable event columns: seconds since the start, customer, type, two payload ints. */
class EventLog {
  sec = growI32(1 << 16);
  cust = growI32(1 << 16);
  type = growU8(1 << 16);
  a = growI32(1 << 16);
  b = growI32(1 << 16);
  amount = growF64(1 << 12);
  basketStart = growI32(1 << 12);
  basket = growI32(1 << 14);

  add(sec: number, cust: number, type: T, a = 0, b = 0): void {
    this.sec.push(sec);
    this.cust.push(cust);
    this.type.push(type);
    this.a.push(a);
    this.b.push(b);
  }
}

export function generateSample(outDir: string, options: GenerateOptions): GenerateSummary {
  const n = options.customers;
  const seed = options.seed >>> 0;
  const endMs = options.end ?? DEFAULT_END;
  const days = options.days ?? 730;
  const span = days * DAY;
  const startMs = endMs - span * 1000;
  const productCount = options.products ?? Math.min(5000, Math.max(200, Math.round(n / 200)));
  const { catalogue, rows: productRows } = makeCatalogue(productCount, seed);

  // Weekly newsletter: Tuesdays 08:00 UTC.
  const campaigns: { sec: number; id: string }[] = [];
  const firstTuesday = ((2 - new Date(startMs).getUTCDay() + 7) % 7) * DAY + 8 * 3600;
  for (let s = firstTuesday; s < span; s += 7 * DAY) {
    campaigns.push({ sec: s, id: `nl-${new Date(startMs + s * 1000).toISOString().slice(0, 10)}` });
  }

  const log = new EventLog();
  const idWidth = Math.max(6, String(n).length);
  const customers = new BufferedWriter(path.join(mkdirOut(outDir), 'customers.csv'));
  customers.write('id,email,phone,first_name,country,timezone,email_opt_in,sms_opt_in,push_opt_in,push_endpoint,signed_up_at\n');
  const revenueBy = new Float64Array(n);

  for (let i = 0; i < n; i++) {
    const rng = new Rng(seed, i + 1);
    const arch = ARCHETYPES[rng.weighted(ARCH_CDF)].name;
    const country = COUNTRIES[rng.weighted(COUNTRY_CDF)];
    const [zone, offset] = rng.pick(country.zones);
    // Signups grow over time: half uniform, half with density rising linearly.
    const u = rng.next();
    const signup = Math.floor(span * (rng.chance(0.5) ? u : Math.sqrt(u)));
    const first = rng.pick(FIRST_NAMES);
    const hasEmail = rng.chance(0.97);
    const hasPhone = rng.chance(0.7);
    const emailOptIn = hasEmail && rng.chance(0.62);
    const smsOptIn = hasPhone && rng.chance(0.22);
    const pushOptIn = rng.chance(0.25);
    const id = `c${String(i + 1).padStart(idWidth, '0')}`;
    const email = hasEmail ? `${first.toLowerCase()}.${i + 1}@example.com` : '';
    const phone = hasPhone ? `+491510000${String(rng.int(10000)).padStart(4, '0')}` : '';
    const endpoint = pushOptIn ? `https://push.example.com/ep/${(rng.u32() >>> 0).toString(16).padStart(8, '0')}${id}` : '';
    const tz = rng.chance(0.03) ? '' : zone;
    customers.write(
      `${id},${email},${phone},${first},${country.code},${tz},${emailOptIn},${smsOptIn},${pushOptIn},${endpoint},${isoSec(startMs, signup)}\n`,
    );

    // Local daytime placement of an activity on the day of `t`.
    const daytime = (t: number): number => {
      const day = Math.floor((t + offset * 3600) / DAY);
      return day * DAY + rng.weighted(HOUR_CDF) * 3600 + rng.int(3600) - Math.round(offset * 3600);
    };
    const lapses = (arch === 'regular' || arch === 'vip') && rng.chance(0.45);
    const activeUntil = lapses ? signup + 30 * DAY + rng.next() * Math.max(0, span - signup - 30 * DAY) : span;

    // Purchase times.
    const purchases: number[] = [];
    const gapDays = arch === 'vip' ? 6 : arch === 'regular' ? 28 : arch === 'occasional' ? 80 : 0;
    if (arch !== 'browser') {
      let t = signup + rng.exp(arch === 'one_time' ? 3 * DAY : 2 * DAY);
      const max = arch === 'one_time' ? 1 : arch === 'occasional' ? 2 + rng.int(3) : Infinity;
      while (t < activeUntil && purchases.length < max) {
        purchases.push(Math.max(signup + 600, daytime(t)));
        t += rng.exp(gapDays * DAY) + DAY;
      }
    }
    // Browse-only sessions.
    const browses: number[] = [];
    if (arch === 'browser') {
      const k = 1 + rng.int(4);
      for (let q = 0; q < k; q++) browses.push(signup + (q === 0 ? 60 : rng.exp(25 * DAY)));
    } else {
      const rate = arch === 'vip' ? 21 : arch === 'regular' ? 60 : 180;
      for (let t = signup + rng.exp(rate * DAY); t < activeUntil; t += rng.exp(rate * DAY)) browses.push(daytime(t));
    }

    log.add(signup, i, T.Signup);
    for (const t of browses) session(log, rng, catalogue, i, Math.max(signup + 1, t), false, span, revenueBy, arch === 'vip');
    for (const t of purchases) session(log, rng, catalogue, i, t, true, span, revenueBy, arch === 'vip');

    if (emailOptIn) {
      const engaged = arch === 'vip' ? 0.35 : arch === 'regular' ? 0.22 : arch === 'browser' ? 0.07 : 0.12;
      for (let c = 0; c < campaigns.length; c++) {
        const cs = campaigns[c].sec;
        if (cs <= signup) continue;
        const p = cs > activeUntil ? engaged * 0.15 : engaged;
        if (!rng.chance(p)) continue;
        const open = cs + 60 + Math.floor(rng.exp(6 * 3600));
        if (open >= span) continue;
        log.add(open, i, T.Open, c);
        if (rng.chance(arch === 'vip' ? 0.3 : 0.15)) {
          const click = open + 5 + rng.int(300);
          if (click < span) log.add(click, i, T.Click, c, catalogue.byRank[rng.weighted(catalogue.rankCdf)]);
        }
      }
    }
  }
  const customersBytes = customers.close();

  const order = sortBySecond(log.sec.data, log.sec.length, span);
  const events = new BufferedWriter(path.join(outDir, 'events.csv'));
  events.write('customer_id,type,ts,props\n');
  const byType: Record<string, number> = {};
  const sec = log.sec.data;
  const cust = log.cust.data;
  const type = log.type.data;
  const a = log.a.data;
  const b = log.b.data;
  let orderNo = 0;
  const dayCache = new Map<number, string>();
  const ts = (s: number): string => {
    const abs = startMs / 1000 + s;
    const day = Math.floor(abs / DAY);
    let date = dayCache.get(day);
    if (date === undefined) {
      date = new Date(day * DAY * 1000).toISOString().slice(0, 11);
      dayCache.set(day, date);
    }
    const r = abs - day * DAY;
    return `${date}${two(Math.floor(r / 3600))}:${two(Math.floor(r / 60) % 60)}:${two(r % 60)}Z`;
  };
  for (let k = 0; k < order.length; k++) {
    const e = order[k];
    const t = type[e] as T;
    byType[TYPE_NAMES[t]] = (byType[TYPE_NAMES[t]] ?? 0) + 1;
    const head = `c${String(cust[e] + 1).padStart(idWidth, '0')},${TYPE_NAMES[t]},${ts(sec[e])}`;
    switch (t) {
      case T.Signup:
        events.write(`${head},\n`);
        break;
      case T.View:
      case T.Cart:
        events.write(`${head},"{""product_id"":""${catalogue.ids[a[e]]}"",""price"":${catalogue.prices[a[e]]}}"\n`);
        break;
      case T.Purchase: {
        const p = a[e];
        const items: string[] = [];
        for (let q = log.basketStart.data[p]; q < (p + 1 < log.basketStart.length ? log.basketStart.data[p + 1] : log.basket.length); q++) {
          items.push(`""${catalogue.ids[log.basket.data[q]]}""`);
        }
        const orderId = `O${String(++orderNo).padStart(8, '0')}`;
        events.write(`${head},"{""order_id"":""${orderId}"",""amount"":${log.amount.data[p]},""product_ids"":[${items.join(',')}]}"\n`);
        break;
      }
      case T.Open:
        events.write(`${head},"{""campaign"":""${campaigns[a[e]].id}""}"\n`);
        break;
      case T.Click:
        events.write(
          `${head},"{""campaign"":""${campaigns[a[e]].id}"",""url"":""https://shop.example/p/${catalogue.ids[b[e]]}""}"\n`,
        );
        break;
    }
  }
  const eventsBytes = events.close();
  const products = new BufferedWriter(path.join(outDir, 'products.csv'));
  products.write('id,name,price,category,url,image\n');
  for (const row of productRows) products.write(`${row}\n`);
  const productsBytes = products.close();

  const revenue = revenueBy.reduce((x, y) => x + y, 0);
  const sortedRevenue = Float64Array.from(revenueBy).sort().reverse();
  let top = 0;
  for (let k = 0; k < Math.ceil(n / 10); k++) top += sortedRevenue[k];
  return {
    customers: n,
    products: productCount,
    events: order.length,
    byType,
    revenue: Math.round(revenue * 100) / 100,
    top10RevenueShare: revenue > 0 ? top / revenue : 0,
    first: order.length ? ts(sec[order[0]]) : '',
    last: order.length ? ts(sec[order[order.length - 1]]) : '',
    files: [
      { file: path.join(outDir, 'customers.csv'), bytes: customersBytes },
      { file: path.join(outDir, 'events.csv'), bytes: eventsBytes },
      { file: path.join(outDir, 'products.csv'), bytes: productsBytes },
    ],
  };
}

function mkdirOut(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

function two(x: number): string {
  return x < 10 ? `0${x}` : String(x);
}

function isoSec(startMs: number, sec: number): string {
  return `${new Date(startMs + sec * 1000).toISOString().slice(0, 19)}Z`;
}

/** One session: views (→ cart adds → purchase when buying). Events after the end are not written. */
function session(
  log: EventLog,
  rng: Rng,
  cat: Catalogue,
  cust: number,
  start: number,
  buys: boolean,
  span: number,
  revenueBy: Float64Array,
  vip: boolean,
): void {
  let t = Math.floor(start);
  const views = 1 + rng.int(buys ? 2 : 3);
  const seen: number[] = [];
  for (let v = 0; v < views; v++) {
    const p = cat.byRank[rng.weighted(cat.rankCdf)];
    seen.push(p);
    if (t < span) log.add(t, cust, T.View, p);
    t += 15 + rng.int(120);
  }
  if (!buys) {
    if (rng.chance(0.22) && t < span) log.add(t, cust, T.Cart, seen[rng.int(seen.length)]);
    return;
  }
  let items = 1;
  while (items < 6 && rng.chance(vip ? 0.55 : 0.35)) items++;
  const basket = seen.slice(0, items);
  while (basket.length < items) basket.push(cat.byRank[rng.weighted(cat.rankCdf)]);
  let amount = 0;
  for (const p of basket) {
    if (t < span) log.add(t, cust, T.Cart, p);
    t += 10 + rng.int(90);
    amount += cat.prices[p] * (rng.chance(0.15) ? 2 : 1);
  }
  t += 30 + rng.int(300);
  if (t >= span) return;
  amount = Math.round(amount * 100) / 100;
  const index = log.amount.length;
  log.amount.push(amount);
  log.basketStart.push(log.basket.length);
  for (const p of new Set(basket)) log.basket.push(p);
  log.add(t, cust, T.Purchase, index);
  revenueBy[cust] += amount;
}

/**
 * Event indices sorted by second, stable (ties keep generation order: customer, then within the customer).
 * LSD radix sort on the seconds value in two 16-bit passes: O(n), no comparator calls.
 */
function sortBySecond(sec: Int32Array, n: number, span: number): Int32Array {
  let idx = Int32Array.from({ length: n }, (_, k) => k);
  let tmp = new Int32Array(n);
  const passes = span > 0xffff ? 2 : 1;
  for (let pass = 0; pass < passes; pass++) {
    const shift = pass * 16;
    const counts = new Int32Array(65537);
    for (let k = 0; k < n; k++) counts[((sec[idx[k]] >>> shift) & 0xffff) + 1]++;
    for (let d = 0; d < 65536; d++) counts[d + 1] += counts[d];
    for (let k = 0; k < n; k++) tmp[counts[(sec[idx[k]] >>> shift) & 0xffff]++] = idx[k];
    [idx, tmp] = [tmp, idx];
  }
  return idx;
}
