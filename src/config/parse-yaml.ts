// Parse one YAML file into documents that keep their source positions. Problems become diagnostics
// with offsets; nothing here throws for bad input.
import { parseAllDocuments, type Document } from 'yaml';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { SourceText } from '../diagnostics/source-text.js';
import { diagAt } from './locate.js';

/** Configuration files are hand-written; anything bigger is a mistake or an attack. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** yaml's own guard against alias expansion bombs ("billion laughs"). */
const MAX_ALIAS_COUNT = 100;

export interface ParsedDocument {
  source: SourceText;
  index: number;
  doc: Document.Parsed;
  /** Plain JS value of the document (undefined when it could not be built). */
  value: unknown;
}

const YAML_CODE_MAP: Record<string, { code: string; hint?: string }> = {
  TAB_AS_INDENT: { code: 'HER1002', hint: 'indent with spaces; YAML does not allow tabs for indentation' },
  DUPLICATE_KEY: { code: 'HER1003', hint: 'each key may appear once in a mapping; merge or rename the entries' },
  // `where: count(purchase, within: 30d) > 1` is not valid YAML: ': ' inside a plain scalar starts a mapping.
  BLOCK_AS_IMPLICIT_KEY: {
    code: 'HER1001',
    hint: "an expression containing ': ' (e.g. within: 30d) must be quoted or written as a block scalar: `where: >` with the expression on the next lines",
  },
};

export function parseYamlFile(source: SourceText): { documents: ParsedDocument[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const documents: ParsedDocument[] = [];
  const parsed = parseAllDocuments(source.text, { prettyErrors: false, uniqueKeys: true, strict: true });
  // An empty stream is an empty array: nothing to report.
  const list: Document.Parsed[] = Array.from(parsed);
  list.forEach((doc, index) => {
    let broken = false;
    for (const e of doc.errors) {
      const mapped = YAML_CODE_MAP[e.code] ?? { code: 'HER1001' };
      const message = mapped.code === 'HER1001' ? `YAML syntax error: ${e.message} (${e.code})` : e.message;
      diagnostics.push(diagAt(source, e.pos[0], e.pos[1], mapped.code, message, { hint: mapped.hint }));
      broken = true;
    }
    for (const w of doc.warnings) {
      diagnostics.push(diagAt(source, w.pos[0], w.pos[1], 'HER1001', `YAML: ${w.message}`, { severity: 'warning' }));
    }
    if (broken) return;
    if (doc.contents === null) return; // an empty document (e.g. a trailing `---`)
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      const range = doc.contents?.range ?? [0, 0];
      const isBomb = error instanceof ReferenceError && /alias/i.test(error.message);
      diagnostics.push(
        diagAt(
          source,
          range[0],
          range[0],
          isBomb ? 'HER1004' : 'HER1001',
          isBomb
            ? `document expands too many aliases (more than ${MAX_ALIAS_COUNT}); refusing to expand it`
            : `YAML error: ${(error as Error).message}`,
          { hint: isBomb ? 'write the values out, or use fewer anchors and aliases' : undefined },
        ),
      );
      return;
    }
    documents.push({ source, index, doc, value });
  });
  return { documents, diagnostics };
}
