// Canonical text of a typed expression: fully parenthesised, literals normalised (durations in ms, strings
// JSON-quoted, dates as ISO), so two filters that mean the same by construction print the same. It keys
// per-customer inputs: `count(purchase, where: amount>10)` in one segment and `count( purchase , where:
// (amount > 10))` in another share one input. It is a key, not a pretty-printer; it stays parseable.
import { assertNever } from '../diagnostics/diagnostic.js';
import type { TypedExpr } from './typed-ast.js';

export function canonicalText(e: TypedExpr): string {
  switch (e.kind) {
    case 'literal':
      return literalText(e.value, e.type);
    case 'list':
      return `[${e.items.map(canonicalText).join(', ')}]`;
    case 'attribute':
      return `profile.${e.name}`;
    case 'event-prop':
      return `event.${e.name}`;
    case 'filter-prop':
      return e.name;
    case 'now':
      return 'now';
    case 'input':
      return `input(${JSON.stringify(e.input.key)})`;
    case 'call':
      return `${e.fn.name}(${e.args.map(canonicalText).join(', ')})`;
    case 'segment':
      return `segment(${JSON.stringify(e.name)})`;
    case 'bucket':
      return e.salt === undefined ? `bucket(${e.n})` : `bucket(${e.n}, ${JSON.stringify(e.salt)})`;
    case 'not':
      return `(not ${canonicalText(e.operand)})`;
    case 'neg':
      return `(-${canonicalText(e.operand)})`;
    case 'binary':
    case 'logic':
      return `(${canonicalText(e.left)} ${e.op} ${canonicalText(e.right)})`;
    case 'in':
      return `(${canonicalText(e.value)} ${e.negated ? 'not in' : 'in'} ${canonicalText(e.list)})`;
    case 'is-null':
      return `(${canonicalText(e.operand)} ${e.negated ? 'is not null' : 'is null'})`;
    default:
      return assertNever(e, 'typed expression');
  }
}

function literalText(value: number | string | boolean | null, type: TypedExpr['type']): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'boolean') return String(value);
  if (type === 'duration') return `${value}ms`;
  if (type === 'timestamp') return `date(${JSON.stringify(new Date(value).toISOString())})`;
  return Object.is(value, -0) ? '0' : String(value);
}
