// The conformance corpus (test/expr/corpus/*.yaml) and the back-ends it runs through. A back-end turns one
// case into an outcome; the runner compares outcomes with the case's expectation. The SQL back-end plugs
// in by adding an ExprBackend to BACKENDS (it receives the same cases, events and model).
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { SpanDiagnostic } from '../../../src/diagnostics/diagnostic.js';
import type { EvalEnv, ExprContext, ExprEnvironment, ExprType } from '../../../src/expr/api.js';
import { parseDuration } from '../../../src/expr/build-ast.js';
import { analyzeExpression, compileExpression } from '../../../src/expr/compile.js';
import { interpret, interpretPredicate } from '../../../src/expr/interpret.js';
import type { InputValue } from '../../../src/model/inputs.js';
import { CORPUS_SEGMENTS, corpusModel } from './corpus-model.js';
import { computeInputs, type CorpusEvent, type ReferenceInput } from './reference-inputs.js';

export const DEFAULT_NOW = '2024-06-01T00:00:00Z';

export interface CorpusCase {
  file: string;
  name: string;
  expr: string;
  context: ExprContext;
  /** ExprEnvironment.expected; the corpus defaults to 'any' so literals of every type can be cases. */
  expectedType: ExprType | 'any';
  profile: Record<string, unknown>;
  event?: Record<string, unknown>;
  events: CorpusEvent[];
  inputs: Record<string, InputValue>;
  now: number;
  customerId: string;
  bucketSeed?: string;
  segmentsTrue: ReadonlySet<string>;
  expect:
    | { kind: 'value'; value: unknown; test?: boolean }
    | { kind: 'error'; code: string; span?: [number, number] };
  /** Back-end name → why that back-end is known to disagree (the case is then reported as skipped). */
  gaps: Record<string, string>;
}

export type Outcome =
  | { kind: 'value'; value: unknown; test: boolean; type: ExprType; diagnostics: SpanDiagnostic[] }
  | { kind: 'diagnostics'; diagnostics: SpanDiagnostic[] };

export interface ExprBackend {
  name: string;
  run(c: CorpusCase): Promise<Outcome>;
}

function toMs(v: unknown, what: string): number {
  if (typeof v === 'number') return v;
  const ms = Date.parse(String(v));
  if (Number.isNaN(ms)) throw new Error(`${what}: not a timestamp: ${String(v)}`);
  return ms;
}

function durationMs(v: unknown): number {
  if (typeof v === 'number') return v;
  const text = String(v);
  const ms = parseDuration(text.replace(/^-/, ''));
  if (typeof ms === 'string') throw new Error(ms);
  return text.startsWith('-') ? -ms : ms;
}

/** Profile values in YAML are written naturally (ISO timestamps, `30d` durations) and converted by type. */
function convertProfile(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const type = corpusModel.attributes.get(k)?.type;
    if (v === null || v === undefined) out[k] = v;
    else if (type === 'timestamp') out[k] = toMs(v, k);
    else if (type === 'duration') out[k] = durationMs(v);
    else out[k] = v;
  }
  return out;
}

interface RawCase {
  name: string;
  expr: string;
  context?: ExprContext;
  type?: ExprType | 'any';
  profile?: Record<string, unknown>;
  event?: Record<string, unknown>;
  events?: { type: string; ts?: string; ago?: string; props?: Record<string, unknown> }[];
  inputs?: Record<string, InputValue>;
  now?: string;
  customer?: string;
  bucket_seed?: string;
  segments?: string[];
  expected?: unknown;
  test?: boolean;
  error?: string;
  span?: [number, number];
  gaps?: Record<string, string>;
}

export function loadCorpus(): CorpusCase[] {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'corpus');
  const cases: CorpusCase[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    const doc = parse(readFileSync(path.join(dir, file), 'utf8')) as { cases: RawCase[] };
    for (const raw of doc.cases) {
      const now = toMs(raw.now ?? DEFAULT_NOW, 'now');
      cases.push({
        file,
        name: raw.name,
        expr: raw.expr,
        context: raw.context ?? { kind: 'profile' },
        expectedType: raw.type ?? 'any',
        profile: convertProfile(raw.profile ?? {}),
        ...(raw.event ? { event: raw.event } : {}),
        events: (raw.events ?? []).map((e) => ({
          type: e.type,
          ts: e.ago !== undefined ? now - durationMs(e.ago) : toMs(e.ts, `event ${e.type}`),
          props: e.props ?? {},
        })),
        inputs: raw.inputs ?? {},
        now,
        customerId: raw.customer ?? 'c-1',
        ...(raw.bucket_seed !== undefined ? { bucketSeed: raw.bucket_seed } : {}),
        segmentsTrue: new Set(raw.segments ?? []),
        expect:
          raw.error !== undefined
            ? { kind: 'error', code: raw.error, ...(raw.span ? { span: raw.span } : {}) }
            : { kind: 'value', value: raw.expected ?? null, ...(raw.test !== undefined ? { test: raw.test } : {}) },
        gaps: raw.gaps ?? {},
      });
    }
  }
  return cases;
}

export function exprEnvironment(c: CorpusCase): ExprEnvironment {
  return { model: corpusModel, context: c.context, segments: CORPUS_SEGMENTS, expected: c.expectedType };
}

export function evalEnv(c: CorpusCase, inputs: InputValue[]): EvalEnv {
  return {
    now: c.now,
    customerId: c.customerId,
    profile: c.profile,
    inputs,
    ...(c.event ? { event: c.event } : {}),
    segment: (name) => c.segmentsTrue.has(name),
    ...(c.bucketSeed !== undefined ? { bucketSeed: c.bucketSeed } : {}),
  };
}

/** The compiled JavaScript back-end (compile-js via compileExpression); aggregate filters use spec.where.test. */
export const jsBackend: ExprBackend = {
  name: 'js',
  async run(c) {
    const result = compileExpression(c.expr, exprEnvironment(c));
    const x = result.expression;
    if (!x) return { kind: 'diagnostics', diagnostics: result.diagnostics };
    const refs: ReferenceInput[] = x.inputs.map((spec) =>
      spec.kind === 'aggregate'
        ? { kind: 'aggregate', key: spec.key, spec, matches: (p) => (spec.where ? spec.where.test(p) : true) }
        : { kind: 'other', key: spec.key, ltv: spec.kind === 'ltv' },
    );
    const env = evalEnv(c, computeInputs(refs, c.events, c.now, corpusModel, c.inputs));
    return { kind: 'value', value: x.evaluate(env), test: x.test(env), type: x.type, diagnostics: result.diagnostics };
  },
};

/** The tree-walking reference interpreter over the same typed AST. */
export const interpreterBackend: ExprBackend = {
  name: 'interpreter',
  async run(c) {
    const result = analyzeExpression(c.expr, exprEnvironment(c));
    const typed = result.typed;
    if (!typed) return { kind: 'diagnostics', diagnostics: result.diagnostics };
    const refs: ReferenceInput[] = result.inputs.map((input) => {
      if (input.kind !== 'aggregate') return { kind: 'other', key: input.key, ltv: input.kind === 'ltv' };
      const { where, ...spec } = input;
      return { kind: 'aggregate', key: input.key, spec, matches: (p) => (where ? interpretPredicate(where, p) : true) };
    });
    const env = evalEnv(c, computeInputs(refs, c.events, c.now, corpusModel, c.inputs));
    const value = interpret(typed, env, result.inputs);
    return { kind: 'value', value, test: value === true, type: typed.type as ExprType, diagnostics: result.diagnostics };
  },
};

export const BACKENDS: readonly ExprBackend[] = [jsBackend, interpreterBackend];

/** The expected value in the result's terms: ISO strings for timestamps, `30d` strings for durations. */
export function normaliseExpected(expected: unknown, type: ExprType): unknown {
  if (typeof expected === 'string' && type === 'timestamp') return toMs(expected, 'expected');
  if (typeof expected === 'string' && type === 'duration') return durationMs(expected);
  if (Array.isArray(expected) && type === 'list<timestamp>') return expected.map((v) => toMs(v, 'expected'));
  return expected;
}
