// The public contract of the expression language (DESIGN §4.2). Implemented by the rest of src/expr;
// config, dataset, plan and engine depend only on this file's types and on `compileExpression`.
import type { SpanDiagnostic } from '../diagnostics/diagnostic.js';
import type { DataModel, FieldType } from '../model/data-model.js';
import type { InputSpec, InputValue } from '../model/inputs.js';

/** Where an expression is written; decides which names it may use. */
export type ExprContext =
  /** A segment `where`, a journey `if`/`branch` without an entry event: profile, aggregates, now. */
  | { kind: 'profile' }
  /** Inside a journey entered by an event: as profile, plus `event.<prop>` of that event type. */
  | { kind: 'journey-event'; event: string }
  /** The `where:` of an aggregate or of an event entry: the event's props bare, plus profile.<attr>. */
  | { kind: 'event-where'; event: string };

export interface ExprEnvironment {
  model: DataModel;
  context: ExprContext;
  /** Segment names that exist, for `segment("name")` (unknown names are an error with a did-you-mean hint). */
  segments: ReadonlySet<string>;
  /** What the expression must produce; a mismatch is a type error (default: bool). */
  expected?: ExprType | 'any';
}

export type ExprType = FieldType | 'null';

/** Values the host supplies at evaluation. Timestamps are epoch milliseconds, durations milliseconds. */
export interface EvalEnv {
  now: number;
  customerId: string;
  /** Attribute values by name; a missing key or undefined counts as null. */
  profile: Readonly<Record<string, unknown>>;
  /** Values of `CompiledExpression.inputs`, in the same order. */
  inputs: ArrayLike<InputValue>;
  /** The triggering event's props (journey-event / event-where contexts). */
  event?: Readonly<Record<string, unknown>>;
  /** Membership of another segment at the same `now` (the host resolves order and caching). */
  segment?: (name: string) => boolean;
  /** Salt for bucket(N) when the expression gives none (e.g. the project's seed). */
  bucketSeed?: string;
}

export interface CompiledExpression {
  source: string;
  type: ExprType;
  /** Per-customer inputs read, deduplicated by key, in the order `EvalEnv.inputs` must follow. */
  inputs: readonly InputSpec[];
  /** Attributes, segments and event props referenced (for dependency graphs and column pruning). */
  attributes: readonly string[];
  segments: readonly string[];
  eventProps: readonly string[];
  usesNow: boolean;
  /** The value with SQL null semantics (null for unknown). */
  evaluate(env: EvalEnv): unknown;
  /** As a condition: null and false are both false. */
  test(env: EvalEnv): boolean;
}

export interface CompileResult {
  expression?: CompiledExpression;
  /** Spans are offsets into the source text given to compileExpression. */
  diagnostics: SpanDiagnostic[];
}
