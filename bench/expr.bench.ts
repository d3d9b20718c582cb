// Expression language benchmarks (`npm run bench -- expr`):
// 1. compile (parse + check + codegen) of realistic expressions — goal ≤ 100 µs median per expression;
// 2. evaluate DESIGN's RFM condition over 1M in-memory profiles, compiled vs a hand-written function with the
//    same null handling, on the same precomputed inputs — goal ≤ 1.5× the hand-written time.
import type { EvalEnv, ExprEnvironment } from '../src/expr/api.js';
import { compileExpression } from '../src/expr/compile.js';
import { demoModel } from '../test/support/demo-model.js';
import { prng } from '../test/support/prng.js';

const EXPRESSIONS = [
  'count(purchase, within: 365d) >= 5 and days_since(last(purchase)) > 90 and sum(purchase.amount, within: 365d) > 500',
  'count(product_view, within: 7d, where: product_id in ["X","Y","Z"]) > 0 and count(purchase, within: 7d) == 0',
  'count(purchase, within: 365d) >= 5 and days_since(last(purchase)) > 90',
  'email_opt_in and not sms_opt_in',
  'country in ["DE", "AT", "CH"] and email_opt_in',
  'signed_up_at < now - 30d and count(purchase) == 0',
  'days_since(signed_up_at) <= 7 and count(email_open, within: 7d) == 0',
  'rfm.segment in ["champions", "loyal"] and rfm.score >= 444',
  'ltv > 1000 or rfm.m == 5',
  'avg(purchase.amount, within: 180d) > 80 and max(purchase.amount) > 300',
  'distinct(product_view.product_id, within: 30d) >= 10 and count(cart_add, within: 30d) > 0',
  'count(cart_add, within: 24h) > 0 and count(purchase, within: 24h) == 0 and hours_since(last(cart_add)) > 2',
  'clv.p_alive < 0.3 and ltv > 200',
  'clv.value(365d, 0.1) > 500 or clv.expected_purchases(90d) > 3',
  'bucket(100) < 10',
  'segment("vip") and not segment("lapsed-loyal")',
  'coalesce(first_name, "") != "" and email is not null and email_opt_in',
  'count(email_click, within: 14d, where: campaign == "winback") > 0',
  'sum(purchase.amount, within: 90d, where: amount > 50) / count(purchase, within: 90d) > 100',
  'push_opt_in and push_endpoint is not null and timezone in ["Europe/Berlin", "Europe/Vienna"]',
];

const environment: ExprEnvironment = {
  model: demoModel,
  context: { kind: 'profile' },
  segments: new Set(['vip', 'lapsed-loyal']),
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function benchCompile(): void {
  for (const text of EXPRESSIONS) {
    const r = compileExpression(text, environment);
    if (!r.expression) throw new Error(`bench expression does not compile: ${text}: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  }
  for (let i = 0; i < 100; i++) for (const text of EXPRESSIONS) compileExpression(text, environment); // warm-up
  gc();
  const perExpression: number[] = [];
  const rounds = 50;
  const reps = 20;
  for (let r = 0; r < rounds; r++) {
    for (const text of EXPRESSIONS) {
      const t0 = process.hrtime.bigint();
      for (let k = 0; k < reps; k++) compileExpression(text, environment);
      perExpression.push(Number(process.hrtime.bigint() - t0) / 1e3 / reps);
    }
  }
  const med = median(perExpression);
  console.log(
    `compile (parse + check + codegen), ${EXPRESSIONS.length} expressions × ${rounds * reps}: median ${med.toFixed(1)} µs/expression, ` +
      `p90 ${percentile(perExpression, 0.9).toFixed(1)} µs — goal ≤ 100 µs: ${med <= 100 ? 'ok' : 'MISSED'}`,
  );
}

const NOW = Date.UTC(2024, 5, 1);
const DAY = 86_400_000;

/** The RFM condition written by hand, with the same null semantics (last purchase null → not matched). */
function handWritten(env: EvalEnv): boolean {
  const I = env.inputs;
  if (!((I[0] as number) >= 5)) return false;
  const last = I[1];
  if (last === null) return false;
  if (!((env.now - (last as number)) / DAY > 90)) return false;
  return (I[2] as number) > 500;
}

// Two loops, one per function, so each call site stays monomorphic (a shared loop would penalise both).
function countHandWritten(rows: number[][] | (number | null)[][], env: { inputs: unknown }): number {
  let n = 0;
  for (let i = 0; i < rows.length; i++) {
    env.inputs = rows[i];
    if (handWritten(env as EvalEnv)) n++;
  }
  return n;
}

function countCompiled(rows: (number | null)[][], env: { inputs: unknown }, test: (env: EvalEnv) => boolean): number {
  let n = 0;
  for (let i = 0; i < rows.length; i++) {
    env.inputs = rows[i];
    if (test(env as EvalEnv)) n++;
  }
  return n;
}

function benchEvaluate(): void {
  const compiled = compileExpression(EXPRESSIONS[0], environment).expression;
  if (!compiled) throw new Error('RFM condition does not compile');
  const keys = compiled.inputs.map((i) => i.key).join(', ');
  if (keys !== 'count|purchase|within=31536000000, last|purchase, sum|purchase.amount|within=31536000000') throw new Error(`unexpected inputs: ${keys}`);

  const N = 1_000_000;
  const random = prng(42);
  const rows: (number | null)[][] = new Array(N);
  for (let i = 0; i < N; i++) {
    const count = Math.floor(random() * 12);
    const last = count === 0 && random() < 0.9 ? null : NOW - Math.floor(random() * 400) * DAY;
    const sum = count * Math.round(random() * 20_000) / 100;
    rows[i] = [count, last, sum];
  }
  const env = { now: NOW, customerId: 'c', profile: {}, inputs: rows[0] as unknown };
  const test = compiled.test;

  const expected = countHandWritten(rows, env);
  const got = countCompiled(rows, env, test);
  if (got !== expected) throw new Error(`compiled and hand-written disagree: ${got} vs ${expected}`);

  const handTimes: number[] = [];
  const compiledTimes: number[] = [];
  for (let round = 0; round < 9; round++) {
    gc();
    let t0 = process.hrtime.bigint();
    countHandWritten(rows, env);
    handTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
    gc();
    t0 = process.hrtime.bigint();
    countCompiled(rows, env, test);
    compiledTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const hand = median(handTimes);
  const comp = median(compiledTimes);
  const ratio = comp / hand;
  console.log(`evaluate RFM condition over ${N.toLocaleString('en')} profiles (${expected.toLocaleString('en')} match):`);
  console.log(`  compiled ${comp.toFixed(1)} ms, hand-written ${hand.toFixed(1)} ms, ratio ${ratio.toFixed(2)}× — goal ≤ 1.5×: ${ratio <= 1.5 ? 'ok' : 'MISSED'}`);
}

export async function run(): Promise<void> {
  benchCompile();
  benchEvaluate();
}
