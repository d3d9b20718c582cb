// Property: for random well-typed expressions and random customers, the generated JavaScript agrees with
// the tree-walking interpreter (src/expr/interpret.ts) — value, test(), and aggregate predicates. Nulls,
// missing keys, zeros (division) and the null literal are deliberately frequent.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EvalEnv, ExprEnvironment } from '../../src/expr/api.js';
import { analyzeExpression, compileExpression } from '../../src/expr/compile.js';
import { interpret, interpretPredicate } from '../../src/expr/interpret.js';
import type { InputRef } from '../../src/expr/typed-ast.js';
import type { InputValue } from '../../src/model/inputs.js';
import { CORPUS_SEGMENTS, corpusModel } from './support/corpus-model.js';

const NOW = Date.parse('2024-06-01T00:00:00Z');
const DAY = 86_400_000;

type T = 'number' | 'bool' | 'string' | 'timestamp' | 'duration';

const paren = (parts: string[]) => `(${parts.join(' ')})`;
const pick = <A>(...xs: A[]) => fc.constantFrom(...xs);

/** Random expression text of each type, fully parenthesised. `where` switches to an aggregate's filter scope. */
function expressions(where: boolean) {
  const leaves: Record<T, fc.Arbitrary<string>> = where
    ? {
        number: pick('0', '1', '2.5', '-3', 'price', 'null', 'length(product_id)'),
        string: pick('"X"', '"Y"', '""', 'product_id', 'null', 'lower(product_id)'),
        bool: pick('true', 'false', 'null'),
        timestamp: pick('date("2024-05-01")', 'null'),
        duration: pick('1h', '30d', 'null'),
      }
    : {
        number: pick('0', '1', '2.5', '-3', 'x', 'y', 'null', 'count(purchase)', 'sum(purchase.amount)', 'avg(purchase.amount)', 'rfm.r', 'ltv', 'bucket(4)', 'length(tags)'),
        string: pick('"a"', '"b"', '""', 's', 's2', 'country', 'null', 'rfm.segment'),
        bool: pick('true', 'false', 'null', 'p', 'q', 'email_opt_in', 'segment("vip")'),
        timestamp: pick('ts', 'ts2', 'now', 'last(purchase)', 'first(purchase, within: 30d)', 'date("2024-05-01")', 'null'),
        duration: pick('1h', '30d', 'dur', 'null', '0s'),
      };
  return fc.letrec<Record<T, string>>((tie) => {
    const n = tie('number');
    const b = tie('bool');
    const s = tie('string');
    const t = tie('timestamp');
    const d = tie('duration');
    const cmp = pick('==', '!=', '<', '<=', '>', '>=');
    const eq = pick('==', '!=');
    return {
      number: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaves.number,
        fc.tuple(n, pick('+', '-', '*', '/'), n).map(paren),
        n.map((x) => `(-${x})`),
        fc.tuple(n, n).map(([a, c]) => `coalesce(${a}, ${c})`),
        fc.tuple(d, d).map(([a, c]) => `(${a} / ${c})`),
        ...(where ? [] : [t.map((x) => `days_since(${x})`), t.map((x) => `hours_since(${x})`)]),
        s.map((x) => `length(${x})`),
      ),
      bool: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaves.bool,
        fc.tuple(b, pick('and', 'or'), b).map(paren),
        b.map((x) => `(not ${x})`),
        fc.tuple(n, cmp, n).map(paren),
        fc.tuple(s, cmp, s).map(paren),
        fc.tuple(t, cmp, t).map(paren),
        fc.tuple(d, cmp, d).map(paren),
        fc.tuple(b, eq, b).map(paren),
        fc.tuple(n, pick('in', 'not in'), pick('[1, 2.5, 0]', '[]', '[1, null]', '[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]', '[-3, 0]')).map(paren),
        fc.tuple(s, pick('in', 'not in'), where ? pick('["X", "Y"]', '["X", null]', '[]') : pick('["a", "b"]', '["a", null]', 'tags', '[]', '[s, "z"]')).map(paren),
        fc.tuple(fc.oneof(n, s, b, t), pick('is null', 'is not null')).map(paren),
        fc.tuple(b, b).map(([a, c]) => `coalesce(${a}, ${c})`),
      ),
      string: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaves.string,
        s.map((x) => `lower(${x})`),
        s.map((x) => `upper(${x})`),
        fc.tuple(s, s).map(([a, c]) => `coalesce(${a}, ${c})`),
      ),
      timestamp: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaves.timestamp,
        fc.tuple(t, pick('+', '-'), d).map(paren),
        fc.tuple(d, t).map(([a, c]) => `(${a} + ${c})`),
        fc.tuple(t, t).map(([a, c]) => `coalesce(${a}, ${c})`),
      ),
      duration: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaves.duration,
        fc.tuple(d, pick('+', '-'), d).map(paren),
        fc.tuple(t, t).map(([a, c]) => `(${a} - ${c})`),
        fc.tuple(d, pick('*', '/'), n).map(paren),
        d.map((x) => `(-${x})`),
      ),
    };
  });
}

const maybe = <A>(a: fc.Arbitrary<A>) => fc.oneof(a, fc.constant(null), fc.constant(undefined));
const smallNumber = fc.oneof(fc.constantFrom(0, 1, -1, 2.5, 3), fc.integer({ min: -5, max: 5 }), fc.double({ min: -100, max: 100, noNaN: true }));
const timestamp = fc.integer({ min: -60, max: 10 }).map((d) => NOW + d * DAY);
const str = fc.constantFrom('a', 'b', '', 'A', 'z', 'X');

const profileArb = fc.record(
  {
    x: maybe(smallNumber),
    y: maybe(smallNumber),
    s: maybe(str),
    s2: maybe(str),
    country: maybe(fc.constantFrom('DE', 'AT', 'a')),
    p: maybe(fc.boolean()),
    q: maybe(fc.boolean()),
    email_opt_in: maybe(fc.boolean()),
    ts: maybe(timestamp),
    ts2: maybe(timestamp),
    dur: maybe(fc.constantFrom(0, 3_600_000, 86_400_000, -60_000)),
    tags: maybe(fc.array(fc.oneof(str, fc.constant(null)), { maxLength: 3 })),
  },
  { requiredKeys: [] },
);

/** A value for an input that respects its convention (model/inputs.ts): some are never null. */
function inputValue(input: InputRef, seed: number): InputValue {
  const nullable = seed % 4 === 0;
  switch (input.kind) {
    case 'ltv':
      return (seed % 7) * 10;
    case 'rfm':
      return nullable ? null : input.field === 'segment' ? ['a', 'b', 'champions'][seed % 3] : (seed % 5) + 1;
    case 'clv':
      return nullable ? null : (seed % 10) / 10;
    case 'aggregate':
      switch (input.fn) {
        case 'count':
        case 'distinct':
        case 'sum':
          return seed % 6;
        case 'first':
        case 'last':
          return nullable ? null : NOW - (seed % 40) * DAY;
        default:
          return nullable ? null : (seed % 9) - 2;
      }
  }
}

const environment: ExprEnvironment = { model: corpusModel, context: { kind: 'profile' }, segments: CORPUS_SEGMENTS, expected: 'any' };

function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
  return JSON.stringify(a) === JSON.stringify(b);
}

describe('generated JavaScript agrees with the reference interpreter', () => {
  const exprs = expressions(false);
  const anyExpr = fc.oneof(exprs.bool, exprs.bool, exprs.number, exprs.string, exprs.timestamp, exprs.duration);

  it('on random expressions and customers', () => {
    fc.assert(
      fc.property(anyExpr, fc.array(profileArb, { minLength: 1, maxLength: 4 }), fc.nat(), fc.constantFrom('c-1', 'c-2'), (text, profiles, seed, customerId) => {
        const compiled = compileExpression(text, environment);
        const analyzed = analyzeExpression(text, environment);
        if (!compiled.expression || !analyzed.typed) {
          throw new Error(`${text} did not compile: ${compiled.diagnostics.map((d) => d.message).join('; ')}`);
        }
        for (const [i, profile] of profiles.entries()) {
          const inputs = analyzed.inputs.map((input, k) => inputValue(input, seed + 13 * i + 7 * k));
          const env: EvalEnv = {
            now: NOW,
            customerId,
            profile: profile as Record<string, unknown>,
            inputs,
            segment: (name) => name === 'vip' && (seed + i) % 2 === 0,
          };
          const expected = interpret(analyzed.typed, env, analyzed.inputs);
          const actual = compiled.expression.evaluate(env);
          if (!same(actual, expected)) expect({ text, profile, inputs, actual }).toEqual({ text, profile, inputs, actual: expected });
          expect(actual === undefined, `${text} returned undefined`).toBe(false);
          expect(compiled.expression.test(env), `test() of ${text}`).toBe(expected === true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("on random aggregate where: predicates and events", () => {
    const where = expressions(true);
    const props = fc.record(
      { product_id: maybe(fc.constantFrom('X', 'Y', 'Z', '')), price: maybe(smallNumber) },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(where.bool, fc.array(props, { minLength: 1, maxLength: 5 }), (cond, events) => {
        const text = `count(product_view, where: ${cond}) >= 0`;
        const compiled = compileExpression(text, environment);
        const analyzed = analyzeExpression(text, environment);
        const spec = compiled.expression?.inputs[0];
        const ref = analyzed.inputs[0];
        if (spec?.kind !== 'aggregate' || ref?.kind !== 'aggregate' || !spec.where || !ref.where) {
          throw new Error(`${text}: ${compiled.diagnostics.map((d) => d.message).join('; ')}`);
        }
        for (const p of events) {
          expect(spec.where.test(p as Record<string, unknown>), `${cond} on ${JSON.stringify(p)}`).toBe(interpretPredicate(ref.where, p as Record<string, unknown>));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
