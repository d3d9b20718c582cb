import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/dataset/load-dataset.js';
import { DATASET_CODES } from '../../src/dataset/codes.js';
import { demoModel } from '../support/demo-model.js';
import { datasetDir, tempDir } from './helpers.js';

const CUSTOMERS = `id,email,phone,first_name,country,timezone,email_opt_in,sms_opt_in,push_opt_in,push_endpoint,signed_up_at
c1,anna.schmidt@example.com,+4915100001234,Anna,DE,Europe/Berlin,true,false,false,,2026-01-01T00:00:00Z
c2,"bob@example.com",,"Bob ""B"" Smith",GB,Europe/London,false,true,,,2026-01-02
`;

const EVENTS = `customer_id,type,ts,props
c1,signup,2026-01-01T00:00:00Z,
c1,product_view,2026-01-02T10:00:00Z,"{""product_id"":""P1"",""price"":12.5}"
c2,purchase,2026-01-03T10:00:00.250+01:00,"{""order_id"":""o1"",""amount"":30,""product_ids"":[""P1"",""P2""]}"
c1,purchase,2026-01-04T10:00:00Z,"{""order_id"":""o2"",""amount"":5.25,""product_ids"":[]}"
c1,email_open,2026-01-05T10:00:00Z,"{""campaign"":""nl-1""}"
`;

const PRODUCTS = `id,name,price,category,url,image
P1,Classic Mug,12.5,home,https://shop.example/p/P1,https://shop.example/img/P1.jpg
P2,"Soft Scarf, red",19.99,accessories,,
`;

function codes(diags: { code: string }[]): string[] {
  return diags.map((d) => d.code);
}

describe('loadDataset: happy path', () => {
  it('loads customers, events and products into columns', () => {
    const dir = datasetDir({ 'customers.csv': CUSTOMERS, 'events.csv': EVENTS, 'products.csv': PRODUCTS });
    const r = loadDataset(dir, demoModel);
    expect(r.diagnostics).toEqual([]);
    expect(r.skipped).toEqual({ count: 0, byCode: {} });
    const ds = r.dataset!;
    expect(ds.customerCount).toBe(2);
    expect(ds.eventCount).toBe(5);
    expect(ds.customerIndex('c2')).toBe(1);
    expect(ds.customerIndex('nobody')).toBe(-1);
    expect(ds.profile(1)).toMatchObject({
      email: 'bob@example.com',
      phone: null,
      first_name: 'Bob "B" Smith',
      email_opt_in: false,
      sms_opt_in: true,
      push_opt_in: null,
      signed_up_at: Date.UTC(2026, 0, 2),
    });
    const purchase = ds.eventTable('purchase')!;
    expect(purchase.count).toBe(2);
    expect([...purchase.offsets]).toEqual([0, 1, 2]);
    // c2's purchase: +01:00 offset and milliseconds
    expect(purchase.ts[1]).toBe(Date.UTC(2026, 0, 3, 9, 0, 0, 250));
    expect(ds.recentEvents(1, 'purchase', 5)).toEqual([
      { type: 'purchase', ts: Date.UTC(2026, 0, 3, 9, 0, 0, 250), props: { order_id: 'o1', amount: 30, product_ids: ['P1', 'P2'] } },
    ]);
    expect(ds.recentEvents(0, 'purchase', 1)[0].props).toEqual({ order_id: 'o2', amount: 5.25, product_ids: [] });
    expect(ds.product('P2')).toEqual({ id: 'P2', name: 'Soft Scarf, red', price: 19.99, category: 'accessories', url: null, image: null });
    expect(ds.timeRange).toEqual({ first: Date.UTC(2026, 0, 1), last: Date.UTC(2026, 0, 5, 10) });
    const tl = ds.timeline(Date.UTC(2026, 0, 2, 10), Infinity);
    expect(tl.count).toBe(3);
    expect([...tl.customer]).toEqual([1, 0, 0]);
    expect([...tl.type].map((t) => ds.eventTables[t].name)).toEqual(['purchase', 'purchase', 'email_open']);
  });

  it('reads NDJSON files with the same result', () => {
    const dir = datasetDir({
      'customers.ndjson': [
        { id: 'c1', email: 'anna.schmidt@example.com', signed_up_at: '2026-01-01T00:00:00Z', email_opt_in: true },
        { id: 'c2', first_name: 'Bob', signed_up_at: 1767312000000 },
      ].map((o) => JSON.stringify(o)).join('\n'),
      'events.ndjson': [
        { customer_id: 'c1', type: 'signup', ts: '2026-01-01T00:00:00Z' },
        { customer_id: 'c2', type: 'purchase', ts: '2026-01-03T09:00:00Z', props: { order_id: 'o1', amount: 30, product_ids: ['P1'] } },
        { customer_id: 'c1', type: 'product_view', ts: 1767600000000, product_id: 'P1', price: 3 },
      ].map((o) => JSON.stringify(o)).join('\n'),
      'products.ndjson': JSON.stringify({ id: 'P1', name: 'Mug', price: 3 }),
    });
    const r = loadDataset(dir, demoModel);
    expect(r.diagnostics).toEqual([]);
    const ds = r.dataset!;
    expect(ds.profile(1, ['first_name', 'signed_up_at'])).toEqual({ first_name: 'Bob', signed_up_at: 1767312000000 });
    expect(ds.recentEvents(1, 'purchase', 1)[0].props).toEqual({ order_id: 'o1', amount: 30, product_ids: ['P1'] });
    expect(ds.recentEvents(0, 'product_view', 1)[0]).toMatchObject({ ts: 1767600000000, props: { product_id: 'P1', price: 3 } });
    expect(ds.product('P1')?.price).toBe(3);
  });

  it('accepts props as columns', () => {
    const dir = datasetDir({
      'customers.csv': 'id\nc1\n',
      'events.csv': 'customer_id,type,ts,order_id,amount,product_ids\nc1,purchase,2026-01-01T00:00:00Z,o1,9.5,"[""A"",""B""]"\nc1,signup,2026-01-02T00:00:00Z,,,\n',
    });
    const r = loadDataset(dir, demoModel);
    expect(r.diagnostics).toEqual([]);
    expect(r.dataset!.recentEvents(0, 'purchase', 1)[0].props).toEqual({ order_id: 'o1', amount: 9.5, product_ids: ['A', 'B'] });
  });
});

/** One bad row per case; expect its code at the exact line and column. */
const BAD_ROWS: { name: string; line: string; code: string; column: number }[] = [
  { name: 'missing customer id', line: ',signup,2026-01-03T00:00:00Z,', code: 'HER5030', column: 1 },
  { name: 'unknown customer', line: 'c9,signup,2026-01-03T00:00:00Z,', code: 'HER5031', column: 1 },
  { name: 'unknown event type', line: 'c1,refund,2026-01-03T00:00:00Z,', code: 'HER5032', column: 4 },
  { name: 'unparsable timestamp', line: 'c1,signup,2026-13-03T00:00:00Z,', code: 'HER5033', column: 11 },
  { name: 'timestamp with junk', line: 'c1,signup,yesterday,', code: 'HER5033', column: 11 },
  { name: 'props not an object', line: 'c1,signup,2026-01-03T00:00:00Z,"[1,2]"', code: 'HER5035', column: 33 },
  { name: 'malformed props JSON', line: 'c1,purchase,2026-01-03T00:00:00Z,"{""amount"":}"', code: 'HER5035', column: 47 },
  { name: 'wrong prop type (number)', line: 'c1,purchase,2026-01-03T00:00:00Z,"{""order_id"":""o9"",""amount"":""12""}"', code: 'HER5036', column: 67 },
  { name: 'wrong prop type (list)', line: 'c1,purchase,2026-01-03T00:00:00Z,"{""product_ids"":""P1""}"', code: 'HER5036', column: 52 },
  { name: 'wrong prop type (list item)', line: 'c1,purchase,2026-01-03T00:00:00Z,"{""product_ids"":[""P1"",true]}"', code: 'HER5036', column: 60 },
  { name: 'too many fields', line: 'c1,signup,2026-01-03T00:00:00Z,,extra', code: 'HER5012', column: 33 },
  { name: 'broken quoting', line: 'c1,signup,2026-01-03T00:00:00Z,"{}"x', code: 'HER5013', column: 1 },
];

describe('loadDataset: bad rows', () => {
  const head = 'customer_id,type,ts,props\nc1,signup,2026-01-01T00:00:00Z,\nc1,signup,2026-01-02T00:00:00Z,\n';
  for (const bad of BAD_ROWS) {
    it(`${bad.name} → ${bad.code} at line 4, column ${bad.column}; skipped unless strict`, () => {
      const dir = datasetDir({ 'customers.csv': 'id\nc1\n', 'events.csv': `${head}${bad.line}\nc1,signup,2026-01-04T00:00:00Z,\n` });
      const loose = loadDataset(dir, demoModel);
      expect(loose.diagnostics).toEqual([
        expect.objectContaining({ code: bad.code, severity: 'warning', file: `${dir}/events.csv`, line: 4, column: bad.column }),
      ]);
      expect(loose.skipped).toEqual({ count: 1, byCode: { [bad.code]: 1 } });
      expect(loose.dataset!.eventCount).toBe(3);

      const strict = loadDataset(dir, demoModel, { strict: true });
      expect(strict.dataset).toBeUndefined();
      expect(strict.diagnostics).toEqual([expect.objectContaining({ code: bad.code, severity: 'error', line: 4, column: bad.column })]);
    });
  }

  it('an undeclared prop is ignored with a warning; the row stays', () => {
    const dir = datasetDir({
      'customers.csv': 'id\nc1\n',
      'events.csv': 'customer_id,type,ts,props\nc1,purchase,2026-01-01T00:00:00Z,"{""amount"":3,""coupon"":""X""}"\n',
    });
    const r = loadDataset(dir, demoModel);
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: 'HER5037', line: 2, column: 49 })]);
    expect(r.ignored).toEqual({ count: 1, byCode: { HER5037: 1 } });
    expect(r.dataset!.eventCount).toBe(1);
    expect(loadDataset(dir, demoModel, { strict: true }).dataset).toBeUndefined();
  });

  it('an events file out of time order is reported once and sorted on load (strict: fails)', () => {
    const dir = datasetDir({
      'customers.csv': 'id\nc1\nc2\n',
      'events.csv': [
        'customer_id,type,ts,props',
        'c1,signup,2026-01-05T00:00:00Z,',
        'c2,signup,2026-01-02T00:00:00Z,',
        'c1,purchase,2026-01-01T00:00:00Z,"{""amount"":1}"',
        'c1,purchase,2026-01-07T00:00:00Z,"{""amount"":2}"',
        'c1,purchase,2026-01-06T00:00:00Z,"{""amount"":3}"',
      ].join('\n'),
    });
    const r = loadDataset(dir, demoModel);
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: 'HER5034', severity: 'warning', line: 3, column: 11 })]);
    expect(r.diagnostics[0].message).toMatch(/3 row\(s\)/);
    expect(r.skipped.count).toBe(0);
    const ds = r.dataset!;
    const p = ds.eventTable('purchase')!;
    expect([...p.ts.subarray(0, 3)]).toEqual([Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 6), Date.UTC(2026, 0, 7)]);
    expect(ds.recentEvents(0, 'purchase', 1)[0].props.amount).toBe(2);
    const tl = ds.timeline();
    expect([...tl.ts]).toEqual([...tl.ts].sort((a, b) => a - b));
    expect(loadDataset(dir, demoModel, { strict: true }).dataset).toBeUndefined();
  });

  it('customer rows: missing id, duplicate id, wrong field count skip the row; a bad value becomes null', () => {
    const dir = datasetDir({
      'customers.csv': [
        'id,email,email_opt_in,signed_up_at,nickname',
        'c1,a@example.com,true,2026-01-01,x',
        ',b@example.com,true,2026-01-01,x',
        'c1,dup@example.com,true,2026-01-01,x',
        'c2,c@example.com,maybe,2026-02-30,x',
        'c3,d@example.com,true',
      ].join('\n'),
      'events.csv': 'customer_id,type,ts,props\n',
    });
    const r = loadDataset(dir, demoModel);
    expect(r.diagnostics.map((d) => [d.code, d.line, d.column])).toEqual([
      ['HER5011', 1, 36],
      ['HER5020', 3, 1],
      ['HER5021', 4, 1],
      ['HER5022', 5, 18],
      ['HER5022', 5, 24],
      ['HER5012', 6, 22],
    ]);
    expect(r.skipped).toEqual({ count: 3, byCode: { HER5020: 1, HER5021: 1, HER5012: 1 } });
    expect(r.ignored).toEqual({ count: 2, byCode: { HER5022: 2 } });
    expect(r.dataset!.customerCount).toBe(2);
    expect(r.dataset!.profile(1, ['email_opt_in', 'signed_up_at'])).toEqual({ email_opt_in: null, signed_up_at: null });
  });

  it('NDJSON bad lines carry line and the column of the offending key', () => {
    const dir = datasetDir({
      'customers.ndjson': '{"id":"c1"}\n{"email":"x@example.com"}\n{"id":"c2","email_opt_in":"yes"}\nnot json\n',
      'events.ndjson': '{"customer_id":"c1","type":"signup","ts":"2026-01-01T00:00:00Z"}\n{"customer_id":"c1","type":"purchase","ts":"2026-01-02T00:00:00Z","props":{"amount":"3"}}\n{"customer_id":"c1","type":"signup","ts":"soon"}\n',
    });
    const r = loadDataset(dir, demoModel);
    expect(r.diagnostics.map((d) => [d.code, d.file?.split('/').pop(), d.line, d.column])).toEqual([
      ['HER5020', 'customers.ndjson', 2, 1],
      ['HER5022', 'customers.ndjson', 3, 12],
      ['HER5013', 'customers.ndjson', 4, 1],
      ['HER5036', 'events.ndjson', 2, 76],
      ['HER5033', 'events.ndjson', 3, 37],
    ]);
  });

  it('missing files, ambiguous files and missing columns fail in any mode', () => {
    expect(codes(loadDataset(tempDir() + '/nope', demoModel).diagnostics)).toEqual(['HER5001']);
    expect(codes(loadDataset(datasetDir({ 'customers.csv': 'id\n' }), demoModel).diagnostics)).toEqual(['HER5001']);
    expect(codes(loadDataset(datasetDir({ 'customers.csv': 'id\n', 'customers.ndjson': '', 'events.csv': '' }), demoModel).diagnostics)).toEqual(['HER5002']);
    const noId = loadDataset(datasetDir({ 'customers.csv': 'email\nx@example.com\n', 'events.csv': 'customer_id,type,ts\n' }), demoModel);
    expect(noId.dataset).toBeUndefined();
    expect(noId.diagnostics).toEqual([expect.objectContaining({ code: 'HER5010', line: 1, column: 1 })]);
    const noTs = loadDataset(datasetDir({ 'customers.csv': 'id\nc1\n', 'events.csv': 'customer_id,type\n' }), demoModel);
    expect(noTs.diagnostics).toEqual([expect.objectContaining({ code: 'HER5010', message: expect.stringContaining('ts') })]);
  });

  it('after 20 rows per code the rest are summarised with their count; counts stay exact', () => {
    const rows = Array.from({ length: 50 }, (_, k) => `c1,nope,2026-01-01T00:00:${String(k).padStart(2, '0')}Z,`);
    const dir = datasetDir({ 'customers.csv': 'id\nc1\n', 'events.csv': `customer_id,type,ts,props\n${rows.join('\n')}\n` });
    const r = loadDataset(dir, demoModel);
    expect(r.skipped).toEqual({ count: 50, byCode: { HER5032: 50 } });
    expect(r.diagnostics).toHaveLength(21);
    expect(r.diagnostics[20]).toMatchObject({ code: 'HER5032', message: expect.stringMatching(/^30 more row/) });
  });

  it('products: missing id, duplicate id and a bad price are reported', () => {
    const dir = datasetDir({
      'customers.csv': 'id\nc1\n',
      'events.csv': 'customer_id,type,ts,props\n',
      'products.csv': 'id,name,price\nP1,Mug,3\n,Nameless,1\nP1,Again,2\nP2,Cup,cheap\n',
    });
    const r = loadDataset(dir, demoModel);
    expect(r.diagnostics.map((d) => [d.code, d.line, d.column])).toEqual([
      ['HER5040', 3, 1],
      ['HER5041', 4, 1],
      ['HER5042', 5, 8],
    ]);
    expect(r.dataset!.products.map((p) => [p.id, p.price])).toEqual([
      ['P1', 3],
      ['P2', null],
    ]);
  });

  it('every code used here has a row in DATASET_CODES', () => {
    const known = new Set(DATASET_CODES.map((c) => c.code));
    for (const bad of BAD_ROWS) expect(known.has(bad.code)).toBe(true);
    expect(DATASET_CODES.every((c) => /^HER5[0-7]\d\d$/.test(c.code))).toBe(true);
    expect(new Set(DATASET_CODES.map((c) => c.code)).size).toBe(DATASET_CODES.length);
  });
});

describe('binary cache', () => {
  it('a cached load returns the same dataset and diagnostics; a changed file misses', async () => {
    const dir = datasetDir({
      'customers.csv': CUSTOMERS,
      'events.csv': `${EVENTS}c1,refund,2026-01-06T00:00:00Z,\n`,
      'products.csv': PRODUCTS,
    });
    const cacheDir = tempDir();
    const first = loadDataset(dir, demoModel, { cacheDir });
    expect(first.cache).toBe('written');
    const second = loadDataset(dir, demoModel, { cacheDir });
    expect(second.cache).toBe('hit');
    expect(second.diagnostics).toEqual(first.diagnostics);
    expect(second.skipped).toEqual(first.skipped);
    const a = first.dataset!;
    const b = second.dataset!;
    for (let i = 0; i < a.customerCount; i++) {
      expect(b.customerId(i)).toBe(a.customerId(i));
      expect(b.profile(i)).toEqual(a.profile(i));
      for (const t of a.eventTables) expect(b.recentEvents(i, t.name, 99)).toEqual(a.recentEvents(i, t.name, 99));
    }
    expect(b.customerIndex('c2')).toBe(1);
    expect(b.products).toEqual(a.products);
    const { appendFileSync } = await import('node:fs');
    appendFileSync(`${dir}/events.csv`, 'c2,signup,2026-01-07T00:00:00Z,\n');
    const third = loadDataset(dir, demoModel, { cacheDir });
    expect(third.cache).toBe('written');
    expect(third.dataset!.eventCount).toBe(a.eventCount + 1);
  });
});
