import { describe, expect, it } from 'vitest';
import type { ExprContext, ExprEnvironment } from '../../src/expr/api.js';
import { analyzeExpression, compileExpression } from '../../src/expr/compile.js';
import type { DataModel } from '../../src/model/data-model.js';
import { demoModel } from '../support/demo-model.js';

const segments = new Set(['lapsed-loyal', 'vip']);

function env(context: ExprContext = { kind: 'profile' }, extra: Partial<ExprEnvironment> = {}): ExprEnvironment {
  return { model: demoModel, context, segments, ...extra };
}

function diagnose(text: string, e: ExprEnvironment = env()) {
  return compileExpression(text, e).diagnostics.map((d) => ({
    code: d.code,
    severity: d.severity,
    text: text.slice(d.span.start, d.span.end),
    span: [d.span.start, d.span.end],
    hint: d.hint,
  }));
}

function only(text: string, e?: ExprEnvironment) {
  const ds = diagnose(text, e);
  expect(ds).toHaveLength(1);
  return ds[0];
}

describe('type errors, with codes and spans', () => {
  it('"a" > 3 covers the whole comparison', () => {
    expect(only('"a" > 3')).toMatchObject({ code: 'HER2008', span: [0, 7] });
  });

  it('a quoted number gets a hint', () => {
    expect(only('count(purchase) > "5"')).toMatchObject({ code: 'HER2008', hint: 'remove the quotes: 5' });
  });

  it('unknown attribute with did-you-mean', () => {
    expect(only('contry == "DE"')).toMatchObject({ code: 'HER2004', text: 'contry', hint: "did you mean 'country'?" });
    expect(only('profile.emial_opt_in')).toMatchObject({ code: 'HER2004', text: 'emial_opt_in', hint: "did you mean 'email_opt_in'?" });
  });

  it('an event type used as an attribute says how to use it', () => {
    expect(only('purchase > 0')).toMatchObject({ code: 'HER2004', hint: "'purchase' is an event type: use count(purchase), last(purchase), …" });
  });

  it('unknown event type and prop', () => {
    expect(only('count(purchace) > 0')).toMatchObject({ code: 'HER2009', text: 'purchace', hint: "did you mean 'purchase'?" });
    expect(only('sum(purchase.amout) > 0')).toMatchObject({ code: 'HER2010', text: 'amout', hint: "did you mean 'amount'?" });
    expect(only('sum(purchase.total) > 0')).toMatchObject({ code: 'HER2010', hint: 'props of purchase: order_id, amount, product_ids' });
  });

  it('sum of a non-numeric prop', () => {
    expect(only('sum(purchase.product_ids) > 0')).toMatchObject({
      code: 'HER2011',
      text: 'purchase.product_ids',
      hint: 'numeric props of purchase: purchase.amount',
    });
  });

  it('unknown function', () => {
    expect(only('cnt(purchase) > 0')).toMatchObject({ code: 'HER2005', text: 'cnt', hint: "did you mean 'count'?" });
    expect(only('country(1)')).toMatchObject({ code: 'HER2005', hint: "'country' is an attribute, not a function" });
    expect(only('clv.valu(30d) > 0')).toMatchObject({ code: 'HER2005', text: 'clv.valu', hint: "did you mean 'value'?" });
  });

  it('unknown segment', () => {
    expect(only('segment("lapsed_loyal")')).toMatchObject({ code: 'HER2012', text: '"lapsed_loyal"', hint: "did you mean 'lapsed-loyal'?" });
  });

  it('event.x in a profile context', () => {
    expect(only('event.amount > 10')).toMatchObject({ code: 'HER2013', span: [0, 12] });
  });

  it('event.x of a journey checks the prop against the entry event', () => {
    expect(diagnose('event.amount > 10', env({ kind: 'journey-event', event: 'purchase' }))).toEqual([]);
    expect(only('event.price > 10', env({ kind: 'journey-event', event: 'purchase' }))).toMatchObject({ code: 'HER2010', text: 'price' });
  });

  it('a bare prop in a journey points to event.<prop>', () => {
    expect(only('amount > 10', env({ kind: 'journey-event', event: 'purchase' }))).toMatchObject({
      code: 'HER2004',
      hint: "the triggering event's prop is event.amount",
    });
  });

  it('an unknown context event is reported', () => {
    expect(only('true', env({ kind: 'event-where', event: 'purchse' }))).toMatchObject({ code: 'HER2009', hint: "did you mean 'purchase'?" });
  });

  it('within: must be a constant positive duration', () => {
    expect(only('count(purchase, within: 0s) > 0')).toMatchObject({ code: 'HER2007', text: '0s' });
    expect(only('count(purchase, within: now - 1d) > 0')).toMatchObject({ code: 'HER2007', text: 'now - 1d' });
  });

  it("an aggregate's where: sees the event bare, not the profile or now", () => {
    expect(only('count(purchase, where: country == "DE") > 0')).toMatchObject({ code: 'HER2010', text: 'country' });
    expect(only('count(purchase, where: profile.country == "DE") > 0')).toMatchObject({ code: 'HER2016', text: 'profile.country' });
    expect(only('count(purchase, where: days_since(date("2024-01-01")) > 1) > 0')).toMatchObject({ code: 'HER2016', text: 'days_since' });
    expect(only('count(purchase, where: segment("vip")) > 0')).toMatchObject({ code: 'HER2016' });
    expect(only('count(purchase, where: event.amount > 1) > 0', env({ kind: 'journey-event', event: 'purchase' }))).toMatchObject({ code: 'HER2013' });
  });

  it('rfm / ltv / clv need project configuration', () => {
    const bare: DataModel = { ...demoModel, rfm: undefined, clv: undefined };
    const e = { ...env(), model: bare };
    expect(only('rfm.r > 3', e)).toMatchObject({ code: 'HER2015', text: 'rfm' });
    expect(only('ltv > 3', e)).toMatchObject({ code: 'HER2015', text: 'ltv' });
    expect(only('clv.p_alive > 0.5', e)).toMatchObject({ code: 'HER2015', text: 'clv' });
    expect(only('clv.value(30d) > 0.5', e)).toMatchObject({ code: 'HER2015', text: 'clv.value' });
  });

  it('a condition must be bool, unless the caller expects another type', () => {
    expect(only('count(purchase)')).toMatchObject({ code: 'HER2017', span: [0, 15], hint: 'compare it, e.g. … > 0' });
    expect(diagnose('count(purchase)', env(undefined, { expected: 'number' }))).toEqual([]);
    expect(diagnose('count(purchase)', env(undefined, { expected: 'any' }))).toEqual([]);
    expect(only('true', env(undefined, { expected: 'number' }))).toMatchObject({ code: 'HER2017' });
  });

  it('comparing with null warns and still compiles', () => {
    const r = compileExpression('country == null', env());
    expect(r.expression).toBeDefined();
    expect(r.diagnostics).toMatchObject([{ code: 'HER2018', severity: 'warning', hint: 'use … is null' }]);
  });

  it('timestamp versus number gets a hint', () => {
    expect(only('signed_up_at > 30')).toMatchObject({ code: 'HER2008', hint: 'use days_since(t) > 30, or compare with a timestamp: t < now - 30d' });
    expect(only('now - signed_up_at > 30')).toMatchObject({ code: 'HER2008', hint: 'write the number with a unit, e.g. 30d' });
  });

  it('reports every independent problem in one run', () => {
    const ds = diagnose('contry == "DE" and sum(purchase.product_ids) > 0 and segment("nope") and cnt(signup) > 1');
    expect(ds.map((d) => d.code)).toEqual(['HER2004', 'HER2011', 'HER2012', 'HER2005']);
  });

  it('one mistake gives one diagnostic, not a cascade', () => {
    expect(diagnose('(contry == "DE" or contry == "AT") and not (contry + 1 > 2)').map((d) => d.code)).toEqual(['HER2004', 'HER2004', 'HER2004']);
    expect(diagnose('-(contry) * 2 > 1')).toHaveLength(1);
  });

  it('literal errors and type errors are reported together', () => {
    expect(diagnose('count(purchase, within: 3mo) > 0 and contry == "DE"').map((d) => d.code)).toEqual(['HER2003', 'HER2004']);
  });
});

describe('what a compiled expression declares', () => {
  it('inputs are deduplicated by canonical key, in order of first use', () => {
    const r = compileExpression(
      'count(purchase, within: 365d) >= 5 and days_since(last(purchase)) > 90 and sum(purchase.amount, within: 365d) > 500 and count(purchase, within: 52w1d) < 100',
      env(),
    );
    expect(r.expression?.inputs.map((i) => i.key)).toEqual([
      'count|purchase|within=31536000000',
      'last|purchase',
      'sum|purchase.amount|within=31536000000',
    ]);
  });

  it('equal where: filters written differently share one key', () => {
    const a = compileExpression('count(product_view, within: 7d, where: product_id in ["X","Y"] and price>10) > 0', env());
    const b = compileExpression("count( product_view , where: (product_id in ['X', \"Y\"]) and (price > 10.0), within: 168h) > 0", env());
    const ka = a.expression?.inputs[0].key;
    expect(ka).toBe('count|product_view|within=604800000|where=((product_id in ["X", "Y"]) and (price > 10))');
    expect(b.expression?.inputs[0].key).toBe(ka);
  });

  it('an aggregate where: becomes an EventPredicate', () => {
    const spec = compileExpression('count(product_view, where: product_id in ["X"] and price > 10) > 0', env()).expression?.inputs[0];
    expect(spec?.kind).toBe('aggregate');
    if (spec?.kind !== 'aggregate' || !spec.where) throw new Error('no predicate');
    expect(spec.fn).toBe('count');
    expect(spec.withinMs).toBeUndefined();
    expect(spec.where.props).toEqual(['price', 'product_id']);
    expect(spec.where.test({ product_id: 'X', price: 11 })).toBe(true);
    expect(spec.where.test({ product_id: 'X', price: 10 })).toBe(false);
    expect(spec.where.test({ product_id: 'X' })).toBe(false);
    expect(spec.where.test({})).toBe(false);
  });

  it('rfm, ltv and clv inputs have canonical keys', () => {
    const r = compileExpression('rfm.score > 400 and ltv > 100 and clv.p_alive > 0.5 and clv.expected_purchases(30d) > 1 and clv.value(1y0d) > 0', env());
    expect(r.diagnostics.map((d) => d.code)).toEqual(['HER2003']);
    const ok = compileExpression('rfm.score > 400 and ltv > 100 and clv.p_alive > 0.5 and clv.expected_purchases(30d) > 1 and clv.value(365d, 0.1) > 0', env());
    expect(ok.expression?.inputs).toEqual([
      { kind: 'rfm', key: 'rfm|score', field: 'score' },
      { kind: 'ltv', key: 'ltv' },
      { kind: 'clv', key: 'clv|p_alive', fn: 'p_alive' },
      { kind: 'clv', key: 'clv|expected_purchases|horizon=2592000000', fn: 'expected_purchases', horizonMs: 2592000000 },
      { kind: 'clv', key: 'clv|value|horizon=31536000000|rate=0.1', fn: 'value', horizonMs: 31536000000, discountRate: 0.1 },
    ]);
  });

  it('attributes, segments, event props and now are listed', () => {
    const x = compileExpression(
      'email_opt_in and profile.country == "DE" and segment("vip") and event.amount > 1 and days_since(signed_up_at) > 1 and count(purchase, where: amount > 1) > 0',
      env({ kind: 'journey-event', event: 'purchase' }),
    ).expression;
    expect(x?.attributes).toEqual(['email_opt_in', 'country', 'signed_up_at']);
    expect(x?.segments).toEqual(['vip']);
    expect(x?.eventProps).toEqual(['amount']);
    expect(x?.usesNow).toBe(true);
    expect(x?.type).toBe('bool');
    const y = compileExpression('count(purchase, within: 30d) > 0', env()).expression;
    expect(y?.usesNow).toBe(false);
  });

  it('static nullability follows the input conventions', () => {
    const nullable = (text: string) => analyzeExpression(text, env(undefined, { expected: 'any' })).typed?.nullable;
    expect(nullable('count(purchase)')).toBe(false);
    expect(nullable('sum(purchase.amount)')).toBe(false);
    expect(nullable('distinct(product_view.product_id)')).toBe(false);
    expect(nullable('ltv')).toBe(false);
    expect(nullable('avg(purchase.amount)')).toBe(true);
    expect(nullable('last(purchase)')).toBe(true);
    expect(nullable('country')).toBe(true);
    expect(nullable('rfm.r')).toBe(true);
    expect(nullable('count(purchase) / 2')).toBe(false);
    expect(nullable('count(purchase) / count(signup)')).toBe(true);
    expect(nullable('count(purchase) > 1 and segment("vip")')).toBe(false);
    expect(nullable('coalesce(avg(purchase.amount), 0)')).toBe(false);
    expect(nullable('country is null')).toBe(false);
    expect(nullable('country in ["DE"]')).toBe(true);
    expect(nullable('"DE" in ["DE"]')).toBe(false);
    expect(nullable('country in []')).toBe(false);
    expect(nullable('bucket(10)')).toBe(false);
  });
});
