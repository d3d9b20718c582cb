// The typed AST the checker produces and every back-end (compile-js, interpret, later compile-sql) consumes.
// Names are resolved (attribute vs event prop vs input), every node has its type and its static
// nullability: `nullable: false` is a promise the code generators rely on to skip null checks.
import type { Span } from '../diagnostics/diagnostic.js';
import type { AggregateFn, ClvFn, RfmField } from '../model/inputs.js';
import type { BinaryOp } from './ast.js';
import type { ScalarFunction } from './functions.js';

export type ScalarTy = 'number' | 'string' | 'bool' | 'duration' | 'timestamp';
/** Internal types; `list<null>` is the empty (or all-null) literal list, `null` the null literal. */
export type Ty = ScalarTy | 'null' | `list<${ScalarTy | 'null'}>`;

export function isListType(t: Ty): t is `list<${ScalarTy | 'null'}>` {
  return t.startsWith('list<');
}

export function elementType(t: Ty): ScalarTy | 'null' {
  return t.slice(5, -1) as ScalarTy | 'null';
}

/** A per-customer input before it gets its index; `key` is canonical (equal specs, equal keys). */
export type InputRef =
  | { kind: 'aggregate'; key: string; fn: AggregateFn; event: string; prop?: string; withinMs?: number; where?: TypedExpr }
  | { kind: 'rfm'; key: string; field: RfmField }
  | { kind: 'ltv'; key: string }
  | { kind: 'clv'; key: string; fn: ClvFn; horizonMs?: number; discountRate?: number };

interface Base {
  type: Ty;
  nullable: boolean;
  span: Span;
}

export type TypedExpr = Base &
  (
    | { kind: 'literal'; value: number | string | boolean | null }
    | { kind: 'list'; items: TypedExpr[] }
    /** A profile attribute (`attr` or `profile.attr`). */
    | { kind: 'attribute'; name: string }
    /** A prop of the triggering event, `EvalEnv.event` (`event.x` in journeys, bare in event-where). */
    | { kind: 'event-prop'; name: string }
    /** A prop of the event an aggregate's `where:` is testing (the predicate's own argument). */
    | { kind: 'filter-prop'; name: string }
    | { kind: 'now' }
    | { kind: 'input'; input: InputRef }
    | { kind: 'call'; fn: ScalarFunction; args: TypedExpr[] }
    | { kind: 'segment'; name: string }
    | { kind: 'bucket'; n: number; salt?: string }
    | { kind: 'not'; operand: TypedExpr }
    | { kind: 'neg'; operand: TypedExpr }
    | { kind: 'binary'; op: Exclude<BinaryOp, 'and' | 'or'>; left: TypedExpr; right: TypedExpr }
    | { kind: 'logic'; op: 'and' | 'or'; left: TypedExpr; right: TypedExpr }
    | { kind: 'in'; negated: boolean; value: TypedExpr; list: TypedExpr }
    | { kind: 'is-null'; negated: boolean; operand: TypedExpr }
  );

export type TypedKind = TypedExpr['kind'];
export type TypedOf<K extends TypedKind> = Extract<TypedExpr, { kind: K }>;
