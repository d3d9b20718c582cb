// Runs every conformance case through every back-end (STYLE habit 7). A case states its expression, the
// customer (profile, events, given inputs), `now`, and the expected value and test() result — or the
// expected diagnostic code. A back-end with a declared gap on a case runs it as an expected failure (reason
// in the title): when the gap closes that test fails, so the declaration is removed rather than left to hide
// a case.
import { describe, expect, it } from 'vitest';
import { BACKENDS, loadCorpus, normaliseExpected, type CorpusCase, type Outcome } from './support/corpus.js';

const cases = loadCorpus();

function closeTo(actual: unknown, expected: unknown): boolean {
  if (typeof actual === 'number' && typeof expected === 'number') {
    return actual === expected || Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));
  }
  if (Array.isArray(actual) && Array.isArray(expected)) {
    return actual.length === expected.length && actual.every((a, i) => closeTo(a, expected[i]));
  }
  return Object.is(actual, expected) || (actual === 0 && expected === 0);
}

function check(c: CorpusCase, outcome: Outcome): void {
  if (c.expect.kind === 'error') {
    const codes = outcome.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code);
    expect(codes, 'diagnostic codes').toContain(c.expect.code);
    if (c.expect.span) {
      const d = outcome.diagnostics.find((x) => x.code === (c.expect as { code: string }).code);
      expect([d?.span.start, d?.span.end]).toEqual(c.expect.span);
    }
    return;
  }
  if (outcome.kind !== 'value') {
    throw new Error(`did not compile: ${outcome.diagnostics.map((d) => `${d.code} ${d.message} @${d.span.start}`).join('; ')}`);
  }
  const expected = normaliseExpected(c.expect.value, outcome.type);
  if (!closeTo(outcome.value, expected)) {
    expect(outcome.value, `value of ${c.expr}`).toEqual(expected);
  }
  const expectedTest = c.expect.test ?? expected === true;
  expect(outcome.test, `test() of ${c.expr}`).toBe(expectedTest);
}

it('the corpus has cases in every file', () => {
  expect(cases.length).toBeGreaterThan(100);
});

for (const backend of BACKENDS) {
  describe(`corpus on ${backend.name}`, () => {
    for (const c of cases) {
      const gap = c.gaps[backend.name];
      const title = `${c.file}: ${c.name} — ${c.expr}`;
      if (gap) it.fails(`${title} [known gap: ${gap}]`, async () => check(c, await backend.run(c)));
      else it(title, async () => check(c, await backend.run(c)));
    }
  });
}
