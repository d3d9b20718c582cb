// Positions of values inside YAML documents: paths → nodes → offsets, and offsets inside a scalar's
// value (an expression, a template) → offsets in the file, including block scalars.
import { isMap, isScalar, isSeq, type Document, type Node, type Scalar } from 'yaml';
import type { Diagnostic, Severity } from '../diagnostics/diagnostic.js';
import type { SourceText } from '../diagnostics/source-text.js';

export type PathSegment = string | number;

export interface Located {
  /** The value node at the path (undefined when the path does not exist). */
  node?: Node;
  /** The key node of the pair holding the value, when the value is a map entry. */
  key?: Node;
}

export function findNode(doc: Document, path: readonly PathSegment[]): Located {
  let current: unknown = doc.contents;
  let key: Node | undefined;
  for (const segment of path) {
    if (isMap(current)) {
      const pair = current.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return {};
      key = pair.key as Node;
      current = pair.value;
    } else if (isSeq(current) && typeof segment === 'number') {
      current = current.items[segment];
      key = undefined;
    } else {
      return {};
    }
  }
  return { node: (current ?? undefined) as Node | undefined, key };
}

/** The deepest existing node along the path, for pointing at something when the exact path is gone. */
export function findNearest(doc: Document, path: readonly PathSegment[]): Located {
  for (let n = path.length; n >= 0; n--) {
    const found = findNode(doc, path.slice(0, n));
    if (found.node || found.key) return found;
  }
  return {};
}

export function rangeOf(located: Located, prefer: 'key' | 'value' = 'value'): [number, number] {
  const first = prefer === 'key' ? (located.key ?? located.node) : (located.node ?? located.key);
  const r = first?.range;
  if (!r) return [0, 0];
  return [r[0], r[1]];
}

export function diagAt(
  source: SourceText,
  start: number,
  end: number,
  code: string,
  message: string,
  extra: { severity?: Severity; hint?: string; path?: string } = {},
): Diagnostic {
  const s = source.position(start);
  const e = source.position(Math.max(start, end));
  const d: Diagnostic = {
    code,
    severity: extra.severity ?? 'error',
    message,
    file: source.file,
    line: s.line,
    column: s.column,
    endLine: e.line,
    endColumn: e.column,
  };
  if (extra.path !== undefined) d.path = extra.path;
  if (extra.hint !== undefined) d.hint = extra.hint;
  return d;
}

export function pointer(path: readonly PathSegment[]): string {
  return '/' + path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

/**
 * Maps offsets in a scalar's parsed value to offsets in the file. Folding, indentation, quotes and
 * escapes only change whitespace and escape characters, so aligning the value's non-blank characters
 * with the source's gives exact positions for every character an expression or template can err on.
 */
export function scalarOffsetMapper(source: SourceText, node: Scalar): (valueOffset: number) => number {
  const value = String(node.value ?? '');
  const range = node.range ?? [0, 0, 0];
  let src = range[0];
  const text = source.text;
  if (node.type === 'BLOCK_FOLDED' || node.type === 'BLOCK_LITERAL') {
    const nl = text.indexOf('\n', src);
    src = nl === -1 ? range[1] : nl + 1;
  } else if (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') {
    src += 1;
  }
  const map = new Int32Array(value.length + 1);
  let next = src;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === ' ' || ch === '\n' || ch === '\t') {
      map[i] = next;
      continue;
    }
    let j = next;
    while (j < range[1] && text[j] !== ch) j++;
    if (j >= range[1]) j = Math.min(next, range[1]);
    map[i] = j;
    next = j + 1;
  }
  map[value.length] = next;
  return (offset: number) => map[Math.max(0, Math.min(offset, value.length))];
}
