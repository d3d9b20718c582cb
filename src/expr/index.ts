// The expression language's public surface (DESIGN §4.2). Other modules import from here or api.ts only.
export type * from './api.js';
export { compileExpression, analyzeExpression, toInputSpec, type AnalyzeResult } from './compile.js';
export { parseExpression, parseDuration, type ParseResult } from './build-ast.js';
export { checkExpression, type CheckResult } from './check.js';
export { interpret, interpretPredicate } from './interpret.js';
export { canonicalText } from './canonical.js';
export { EXPR_CODE, EXPR_CODES, type ExprCode } from './codes.js';
export { FUNCTIONS, type FunctionDef } from './functions.js';
export { closest, didYouMean } from './suggest.js';
export type { Expr } from './ast.js';
export type { TypedExpr, InputRef, Ty } from './typed-ast.js';
