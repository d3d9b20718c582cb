// The shapes of generated code that the speed goal depends on (bench/expr.bench.ts): statically non-null
// values compile to plain comparisons, conditions never build three-valued intermediates.
import { describe, expect, it } from 'vitest';
import type { ExprEnvironment } from '../../src/expr/api.js';
import { generateJs } from '../../src/expr/compile-js.js';
import { analyzeExpression, compileExpression } from '../../src/expr/compile.js';
import { demoModel } from '../support/demo-model.js';

const environment: ExprEnvironment = { model: demoModel, context: { kind: 'profile' }, segments: new Set(['vip']) };

function source(text: string) {
  const a = analyzeExpression(text, environment);
  if (!a.typed) throw new Error(a.diagnostics.map((d) => d.message).join('; '));
  return generateJs(a.typed, a.inputs).source;
}

const RFM = 'count(purchase, within: 365d) >= 5 and days_since(last(purchase)) > 90 and sum(purchase.amount, within: 365d) > 500';

describe('generated code', () => {
  it('the DESIGN RFM condition is plain comparisons with one null check', () => {
    const { test } = source(RFM);
    expect(test).toContain('I[0] >= 5');
    expect(test).toContain('I[2] > 500');
    expect(test).toContain('(t0 = I[1]) != null && ((N - t0) / 86400000) > 90');
    expect(test.match(/null/g)).toHaveLength(1);
    expect(test).not.toContain('H.');
  });

  it('a not over a nullable comparison tests the inverse operator, not a three-valued value', () => {
    const { test } = source('not (country == "DE") and not email_opt_in');
    expect(test).toContain('!== "DE"');
    expect(test).toContain('=== false');
  });

  it('long constant lists use a Set; short ones a chain of ===', () => {
    expect(source('country in ["A","B"]').test).toContain('=== "A" ||');
    expect(source('country in ["A","B","C","D","E","F","G","H","I"]').test).toContain('.has(');
  });

  it('test() and evaluate() are consistent with SQL null semantics on the RFM condition', () => {
    const x = compileExpression(RFM, environment).expression;
    if (!x) throw new Error('did not compile');
    const now = Date.UTC(2024, 5, 1);
    const env = (count: number, last: number | null, sum: number) => ({ now, customerId: 'c', profile: {}, inputs: [count, last, sum] });
    expect(x.test(env(5, now - 91 * 86_400_000, 501))).toBe(true);
    expect(x.test(env(5, now - 89 * 86_400_000, 501))).toBe(false);
    expect(x.test(env(5, null, 501))).toBe(false);
    expect(x.evaluate(env(5, null, 501))).toBe(null);
    expect(x.evaluate(env(4, null, 501))).toBe(false);
    expect(x.evaluate(env(5, null, 500))).toBe(false);
  });

  it('generated functions are independent: constants are not shared across compilations', () => {
    const a = compileExpression('country in ["A","B","C","D","E","F","G","H","I"]', environment).expression;
    const b = compileExpression('country in ["J","K","L","M","N","O","P","Q","R"]', environment).expression;
    const env = (country: string) => ({ now: 0, customerId: 'c', profile: { country }, inputs: [] });
    expect([a?.test(env('A')), a?.test(env('J')), b?.test(env('A')), b?.test(env('J'))]).toEqual([true, false, false, true]);
  });
});
