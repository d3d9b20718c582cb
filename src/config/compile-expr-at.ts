// Compile an expression written in a YAML scalar and map its diagnostics to file positions.
import { isScalar } from 'yaml';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { compileExpression } from '../expr/index.js';
import type { CompiledExpression, ExprEnvironment } from '../expr/api.js';
import { diagAt, findNode, pointer, scalarOffsetMapper, type PathSegment } from './locate.js';
import type { ParsedDocument } from './parse-yaml.js';

export function compileExpressionAt(
  doc: ParsedDocument,
  path: readonly PathSegment[],
  env: ExprEnvironment,
  diagnostics: Diagnostic[],
): CompiledExpression | undefined {
  const { node } = findNode(doc.doc, path);
  const text = isScalar(node) ? String(node.value) : '';
  const result = compileExpression(text, env);
  const map = isScalar(node) ? scalarOffsetMapper(doc.source, node) : () => 0;
  for (const d of result.diagnostics) {
    const start = map(d.span.start);
    const end = Math.max(start, map(d.span.end));
    diagnostics.push(diagAt(doc.source, start, end, d.code, d.message, { severity: d.severity, hint: d.hint, path: pointer(path) }));
  }
  return result.diagnostics.some((d) => d.severity === 'error') ? undefined : result.expression;
}
