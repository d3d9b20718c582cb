// Real data: UCI Online Retail imported through mappings/uci-online-retail.yaml, segment sizes checked
// against an independent computation in SQL (PGlite) over the raw CSV, with the same rules written in SQL:
// one order per non-cancelled invoice with a customer, InvoiceDate in Europe/London, amount rounded to cents.
import { PGlite } from '@electric-sql/pglite';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeAudiences } from '../../src/dataset/audiences.js';
import type { Dataset } from '../../src/dataset/dataset.js';
import { importTransactions, type ImportReport } from '../../src/dataset/import/import-transactions.js';
import { readMapping } from '../../src/dataset/import/mapping.js';
import { loadDataset } from '../../src/dataset/load-dataset.js';
import { buildSegmentReport, renderSegmentReportText } from '../../src/dataset/segment-report.js';
import type { InputSpec } from '../../src/model/inputs.js';
import { fakeExpression } from './fake-expression.js';
import { DAY, retailModel, tempDir } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SOURCE = path.resolve(ROOT, '../shared/datasets/uci-online-retail/online_retail.csv.gz');

let report: ImportReport;
let ds: Dataset;
let pg: PGlite;
let now: number;

beforeAll(async () => {
  const { mapping, diagnostics } = readMapping(path.join(ROOT, 'mappings/uci-online-retail.yaml'));
  expect(diagnostics).toEqual([]);
  const out = tempDir('herald-uci-');
  report = importTransactions(mapping!, out);
  const loaded = loadDataset(out, retailModel, { strict: true });
  expect(loaded.diagnostics).toEqual([]);
  ds = loaded.dataset!;
  now = ds.timeRange!.last;

  pg = new PGlite();
  await pg.exec(`
    create table raw (invoiceno text, stockcode text, description text, quantity integer,
      invoicedate timestamp, unitprice numeric, customerid text, country text);`);
  await pg.query(`copy raw from '/dev/blob' with (format csv, header true)`, [], {
    blob: new Blob([gunzipSync(readFileSync(SOURCE))]),
  });
  await pg.exec(`
    set timezone = 'UTC';
    create table orders as
      select customerid::numeric::bigint as cid, invoiceno,
             min(invoicedate at time zone 'Europe/London') as ts,
             round(sum(quantity * unitprice), 2) as amount
      from raw
      where coalesce(customerid, '') <> '' and invoiceno not like 'C%'
      group by 1, 2;`);
}, 120_000);

afterAll(async () => {
  await pg?.close();
});

async function sqlNumber(sql: string, params: unknown[] = []): Promise<number> {
  const r = await pg.query<{ n: string | number }>(sql, params);
  return Number(r.rows[0].n);
}

const count: InputSpec = { kind: 'aggregate', key: 'count(purchase)', fn: 'count', event: 'purchase' };
const last: InputSpec = { kind: 'aggregate', key: 'last(purchase)', fn: 'last', event: 'purchase' };
const rfmM: InputSpec = { kind: 'rfm', key: 'rfm.m', field: 'm' };
const ltv: InputSpec = { kind: 'ltv', key: 'ltv' };

describe('UCI Online Retail', () => {
  it('imports one purchase per invoice, counting what it leaves out', () => {
    expect(report.rows).toBe(541_909);
    expect(report.skipped).toEqual({ 'no CustomerID': 135_080 });
    expect(report.cancellations).toEqual({ action: 'drop', rows: 8_905, events: 0 });
    expect(report.unparsable).toBe(0);
    // SOURCE.md: rows with a customer and Quantity > 0 cover 18,536 invoices and 4,339 customers
    expect(report.events).toBe(18_536);
    expect(report.customers).toBe(4_339);
    expect(ds.eventCount).toBe(18_536);
    expect(ds.customerCount).toBe(4_339);
  });

  it('the clock: the last invoice is 2011-12-09 12:50 UK time; summer times are shifted from BST', async () => {
    expect(new Date(now).toISOString()).toBe('2011-12-09T12:50:00.000Z');
    expect(await sqlNumber(`select extract(epoch from max(ts)) * 1000 as n from orders`)).toBe(now);
    // 536365 is in winter (GMT); 560000-ish invoices in July are BST (UTC+1)
    const july = await pg.query<{ invoiceno: string; ms: string }>(
      `select invoiceno, extract(epoch from ts) * 1000 as ms from orders where ts >= '2011-07-01' order by ts limit 1`,
    );
    const i = ds.customerIndex(String((await pg.query<{ cid: string }>(`select cid from orders where invoiceno = $1`, [july.rows[0].invoiceno])).rows[0].cid));
    const events = ds.recentEvents(i, 'purchase', 1000);
    expect(events.find((e) => e.props.order_id === july.rows[0].invoiceno)?.ts).toBe(Number(july.rows[0].ms));
  });

  it('segment sizes at the last date agree with SQL', async () => {
    const segments = [
      { name: 'orders-5plus', expression: fakeExpression('count(purchase) >= 5', [count], (v) => (v[0] as number) >= 5) },
      {
        name: 'lapsed-90d',
        expression: fakeExpression('days_since(last(purchase)) > 90', [last], (v, env) => v[0] !== null && (env.now - (v[0] as number)) / DAY > 90),
      },
      { name: 'monetary-top', expression: fakeExpression('rfm.m == 5', [rfmM], (v) => v[0] === 5) },
    ];
    const result = computeAudiences(ds, segments, now);
    const size = (name: string) => result.audiences.find((a) => a.name === name)!.size;

    const orders5 = await sqlNumber(`select count(*) as n from (select cid from orders group by cid having count(*) >= 5) x`);
    expect(orders5).toBe(1_115); // SOURCE.md's published distribution
    expect(size('orders-5plus')).toBe(orders5);

    const lapsed = await sqlNumber(
      `select count(*) as n from (select max(ts) as m from orders group by cid) x
       where extract(epoch from ($1::timestamptz - m)) / 86400 > 90`,
      [new Date(now).toISOString()],
    );
    expect(lapsed).toBeGreaterThan(1000);
    expect(size('lapsed-90d')).toBe(lapsed);

    // Monetary quintile by the documented tie rule: 1 + floor(5 * (rank - 1) / N) over customers with a
    // purchase in (now - 365d, now].
    const top = await sqlNumber(
      `with m as (
         select cid, sum(amount) as m from orders
         where ts > $1::timestamptz - interval '365 days' and ts <= $1::timestamptz group by cid),
       s as (select 1 + floor(5.0 * (rank() over (order by m) - 1) / count(*) over ()) as score from m)
       select count(*) as n from s where score = 5`,
      [new Date(now).toISOString()],
    );
    expect(top).toBeGreaterThan(700);
    expect(size('monetary-top')).toBe(top);
  });

  it('revenue: LTV summed over customers equals the SQL total; the RFM grid accounts for the window revenue', async () => {
    const table = computeAudiences(ds, [{ name: 'all', expression: fakeExpression('ltv >= 0', [ltv], () => true) }], now).inputs;
    let total = 0;
    for (let i = 0; i < ds.customerCount; i++) total += table.value('ltv', i) as number;
    const sqlTotal = await sqlNumber(`select sum(amount) as n from orders`);
    expect(total).toBeCloseTo(sqlTotal, 2);
    expect(report.revenue).toBeCloseTo(sqlTotal, 2);

    const result = computeAudiences(ds, [{ name: 'all', expression: fakeExpression('true', [rfmM], () => true) }], now);
    const rep = buildSegmentReport(ds, result);
    const windowRevenue = await sqlNumber(
      `select sum(amount) as n from orders where ts > $1::timestamptz - interval '365 days' and ts <= $1::timestamptz`,
      [new Date(now).toISOString()],
    );
    const scored = await sqlNumber(
      `select count(distinct cid) as n from orders where ts > $1::timestamptz - interval '365 days' and ts <= $1::timestamptz`,
      [new Date(now).toISOString()],
    );
    expect(rep.rfm!.revenue_total).toBeCloseTo(windowRevenue, 1);
    expect(rep.rfm!.scored).toBe(scored);
    expect(rep.rfm!.cells.reduce((n, c) => n + c.customers, 0)).toBe(scored);
    expect(renderSegmentReportText(rep)).toMatch(/RFM grid \(365d window on purchase\.amount/);
  });
});
