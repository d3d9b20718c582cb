// The front door: text → parse → check → JavaScript. Every problem found is returned as a diagnostic with
// a span into `text`; nothing is thrown for user errors.
import { hasErrors, type SpanDiagnostic } from '../diagnostics/diagnostic.js';
import type { InputSpec } from '../model/inputs.js';
import type { CompileResult, CompiledExpression, EvalEnv, ExprEnvironment, ExprType } from './api.js';
import { parseExpression } from './build-ast.js';
import { checkExpression, type CheckResult } from './check.js';
import { compilePredicate, generateJs } from './compile-js.js';
import type { InputRef } from './typed-ast.js';

export interface AnalyzeResult extends CheckResult {
  diagnostics: SpanDiagnostic[];
}

/**
 * Parses and type-checks without generating code: what another back-end (the reference interpreter,
 * compile-sql) starts from. `typed` is present only when there is no error.
 */
export function analyzeExpression(text: string, env: ExprEnvironment): AnalyzeResult {
  const parsed = parseExpression(text);
  if (!parsed.ast) {
    return { diagnostics: parsed.diagnostics, inputs: [], attributes: [], segments: [], eventProps: [], usesNow: false };
  }
  const checked = checkExpression(parsed.ast, env);
  const diagnostics = [...parsed.diagnostics, ...checked.diagnostics];
  return { ...checked, typed: hasErrors(diagnostics) ? undefined : checked.typed, diagnostics };
}

/** The InputSpec a host computes for an input; an aggregate's where: gets its compiled predicate. */
export function toInputSpec(input: InputRef): InputSpec {
  if (input.kind !== 'aggregate') return { ...input };
  const { where, ...rest } = input;
  return where ? { ...rest, where: compilePredicate(where) } : rest;
}

export function compileExpression(text: string, env: ExprEnvironment): CompileResult {
  const analyzed = analyzeExpression(text, env);
  const { typed, diagnostics } = analyzed;
  if (!typed) return { diagnostics };
  const program = generateJs(typed, analyzed.inputs);
  const inputs = analyzed.inputs.map(toInputSpec);
  const expression: CompiledExpression = {
    source: text,
    type: typed.type as ExprType,
    inputs,
    attributes: analyzed.attributes,
    segments: analyzed.segments,
    eventProps: analyzed.eventProps,
    usesNow: analyzed.usesNow,
    evaluate: program.evaluate as (env: EvalEnv) => unknown,
    test: program.test as (env: EvalEnv) => boolean,
  };
  return { expression, diagnostics };
}
