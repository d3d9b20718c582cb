// `herald fmt`: canonical key order (apiVersion, kind, metadata, spec; inside spec the schema's order),
// comments and scalar styles kept. Keys the schema does not know keep their order, after known ones.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CST, isMap, Parser, parseAllDocuments } from 'yaml';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { SourceText } from '../diagnostics/source-text.js';
import { diagAt } from './locate.js';
import { SCHEMA_DIR } from './validate-schema.js';

type Schema = Record<string, any>;

const schemaCache = new Map<string, Schema>();
function schemaFile(file: string): Schema {
  let s = schemaCache.get(file);
  if (!s) {
    s = JSON.parse(readFileSync(path.join(SCHEMA_DIR, file), 'utf8')) as Schema;
    schemaCache.set(file, s);
  }
  return s;
}

interface At {
  schema: Schema | undefined;
  file: string;
}

function resolve(at: At, depth = 0): At {
  const s = at.schema;
  if (!s || depth > 8 || typeof s.$ref !== 'string') return at;
  const [f, ptr = ''] = s.$ref.split('#');
  const file = f === '' ? at.file : f;
  let node: any = schemaFile(file);
  for (const seg of ptr.split('/').filter(Boolean)) node = node?.[seg];
  return resolve({ schema: node, file }, depth + 1);
}

/** All object-shaped alternatives of a schema (through oneOf/anyOf), merged for key order. */
function objectSchemas(at: At): At[] {
  const r = resolve(at);
  if (!r.schema) return [];
  const alts = [...(r.schema.oneOf ?? []), ...(r.schema.anyOf ?? [])] as Schema[];
  const list = [r, ...alts.flatMap((a) => objectSchemas({ schema: a, file: r.file }))];
  return list.filter((x) => x.schema?.properties || x.schema?.additionalProperties || x.schema?.items);
}

function propertyOrder(at: At): { order: string[]; child: (key: string) => At } {
  const alts = objectSchemas(at);
  const order: string[] = [];
  for (const a of alts) for (const k of Object.keys(a.schema!.properties ?? {})) if (!order.includes(k)) order.push(k);
  return {
    order,
    child: (key) => {
      for (const a of alts) {
        const p = a.schema!.properties?.[key];
        if (p) return { schema: p, file: a.file };
      }
      for (const a of alts) {
        const ap = a.schema!.additionalProperties;
        if (ap && typeof ap === 'object') return { schema: ap, file: a.file };
      }
      return { schema: undefined, file: at.file };
    },
  };
}

function itemSchema(at: At): At {
  for (const a of objectSchemas(at)) if (a.schema!.items) return { schema: a.schema!.items, file: a.file };
  return { schema: undefined, file: at.file };
}

type Token = CST.Token;
type Item = CST.CollectionItem;

function keyOf(item: Item): string {
  if (!item.key) return '';
  const scalar = CST.isScalar(item.key) ? CST.resolveAsScalar(item.key) : null;
  return scalar ? scalar.value : CST.stringify(item.key).trim();
}

function isSpace(t: CST.SourceToken): boolean {
  return t.type === 'space';
}

/**
 * Reorders map items in the concrete syntax tree, so every byte the user wrote (comments, quotes, block
 * scalars, flow style) is kept; only whole items move. In flow maps the commas and the trailing space
 * before the closing brace stay in place.
 */
function reorderToken(token: Token | undefined, at: At): void {
  if (!token) return;
  if (token.type === 'document') return reorderToken(token.value, at);
  const isMapToken = token.type === 'block-map' || (token.type === 'flow-collection' && token.start.source === '{');
  const isSeqToken = token.type === 'block-seq' || (token.type === 'flow-collection' && token.start.source === '[');
  if (isMapToken) {
    const { order, child } = propertyOrder(at);
    const rank = (k: string) => {
      const i = order.indexOf(k);
      return i === -1 ? order.length : i;
    };
    const items = token.items as Item[];
    if (items.length < 2) {
      // nothing to reorder
    } else if (token.type === 'flow-collection') {
      const commas = items.map((it) => it.start.filter((t) => t.type === 'comma' || isSpace(t)));
      items.forEach((it) => (it.start = it.start.filter((t) => t.type !== 'comma' && !isSpace(t))));
      const last = items[items.length - 1];
      const trailing = trailingSpace(last);
      const sorted = items.map((it, i) => ({ it, i, r: rank(keyOf(it)) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.it);
      sorted.forEach((it, i) => (it.start = [...commas[i], ...it.start]));
      if (trailing.length) sorted[sorted.length - 1] = withTrailing(sorted[sorted.length - 1], trailing);
      token.items = sorted;
    } else {
      // In a block map the first item's indentation belongs to what precedes the map; every later item
      // starts with its own. Strip them, sort, and give the indentation back to every item but the first.
      const indent = items.slice(1).map((it) => it.start[0]).find((t) => t && isSpace(t));
      items.forEach((it, i) => {
        if (i > 0 && it.start.length && isSpace(it.start[0])) it.start = it.start.slice(1);
      });
      const sorted = items.map((it, i) => ({ it, i, r: rank(keyOf(it)) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.it);
      sorted.forEach((it, i) => {
        if (i > 0 && indent) it.start = [{ ...indent }, ...it.start];
      });
      (token as { items: Item[] }).items = sorted;
    }
    for (const it of token.items as Item[]) reorderToken(it.value, child(keyOf(it)));
  } else if (isSeqToken) {
    const item = itemSchema(at);
    for (const it of token.items as Item[]) reorderToken(it.value, item);
  }
}

/** Removes and returns the whitespace that ends a flow item's value (before `}`). */
function trailingSpace(item: Item): CST.SourceToken[] {
  const v = item.value as (Token & { end?: CST.SourceToken[] }) | undefined;
  if (!v || !Array.isArray(v.end)) return [];
  const out: CST.SourceToken[] = [];
  while (v.end.length && isSpace(v.end[v.end.length - 1])) out.unshift(v.end.pop()!);
  return out;
}

function withTrailing(item: Item, trailing: CST.SourceToken[]): Item {
  const v = item.value as (Token & { end?: CST.SourceToken[] }) | undefined;
  if (v && Array.isArray(v.end)) v.end.push(...trailing);
  else if (v) (v as { end?: CST.SourceToken[] }).end = [...trailing];
  return item;
}

const KIND_FILES: Record<string, string> = {
  Project: 'project.schema.json',
  Segment: 'segment.schema.json',
  Template: 'template.schema.json',
  Channel: 'channel.schema.json',
  Cascade: 'cascade.schema.json',
  Journey: 'journey.schema.json',
  Policy: 'policy.schema.json',
};

export interface FormatResult {
  formatted?: string;
  changed: boolean;
  diagnostics: Diagnostic[];
}

export function formatYaml(file: string, text: string): FormatResult {
  const source = new SourceText(file, text);
  const docs = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true });
  const diagnostics: Diagnostic[] = [];
  for (const doc of Array.from(docs)) {
    for (const e of doc.errors) diagnostics.push(diagAt(source, e.pos[0], e.pos[1], 'HER1001', `YAML syntax error: ${e.message} (${e.code}); not formatted`));
  }
  if (diagnostics.length) return { changed: false, diagnostics };
  const kinds = Array.from(docs).map((doc) => (isMap(doc.contents) ? doc.contents.get('kind') : undefined));
  let docIndex = 0;
  let out = '';
  for (const token of new Parser().parse(text)) {
    if (token.type === 'document') {
      const kind = kinds[docIndex++];
      const schemaName = typeof kind === 'string' ? KIND_FILES[kind] : undefined;
      if (schemaName) reorderToken(token, { schema: schemaFile(schemaName), file: schemaName });
    }
    out += CST.stringify(token);
  }
  if (!out.endsWith('\n')) out += '\n';
  // Moving items must never change meaning: compare the values before and after.
  const before = Array.from(docs).map((d) => d.toJS());
  const after = Array.from(parseAllDocuments(out)).map((d) => d.toJS());
  if (JSON.stringify(before) !== JSON.stringify(after) && !sameIgnoringKeyOrder(before, after)) {
    if (process.env.HERALD_FMT_DEBUG) process.stderr.write(out);
    return { changed: false, diagnostics: [{ code: 'HER1001', severity: 'warning', message: `${file}: could not reorder keys without changing the document; left as it is`, file }] };
  }
  return { formatted: out, changed: out !== text, diagnostics };
}

function sameIgnoringKeyOrder(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameIgnoringKeyOrder(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return ka.join('\0') === kb.join('\0') && ka.every((k) => sameIgnoringKeyOrder((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}
