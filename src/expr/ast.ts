// The untyped AST the CST visitor builds (build-ast.ts). Names are left unresolved: whether `amount` is an
// attribute or an event prop depends on the context, which only the checker knows. Every node carries the
// span of its source text (offsets into the expression, end exclusive); a parenthesised node's span
// includes its parentheses, so a diagnostic on `(a + b) > "x"` underlines exactly what the user wrote.
import type { Span } from '../diagnostics/diagnostic.js';

export type BinaryOp = 'or' | 'and' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/';

export interface NamePart {
  name: string;
  span: Span;
}

export type Expr =
  | { kind: 'number'; value: number; span: Span }
  | { kind: 'string'; value: string; span: Span }
  | { kind: 'bool'; value: boolean; span: Span }
  | { kind: 'null'; span: Span }
  /** `ms` is undefined when the literal is invalid (already reported while building the AST). */
  | { kind: 'duration'; ms: number | undefined; text: string; span: Span }
  | { kind: 'list'; items: Expr[]; span: Span }
  /** `attr`, `profile.attr`, `event.prop`, `rfm.r`, `purchase.amount`, ... */
  | { kind: 'name'; path: NamePart[]; span: Span }
  | { kind: 'call'; callee: NamePart[]; calleeSpan: Span; args: Arg[]; span: Span }
  | { kind: 'unary'; op: 'not' | '-'; operand: Expr; span: Span }
  | { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr; opSpan: Span; span: Span }
  | { kind: 'in'; negated: boolean; value: Expr; list: Expr; span: Span }
  | { kind: 'is-null'; negated: boolean; operand: Expr; span: Span };

export interface Arg {
  /** Present for named arguments (`within: 30d`). */
  name?: NamePart;
  value: Expr;
  span: Span;
}

export function spanOf(a: Span, b: Span): Span {
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}
