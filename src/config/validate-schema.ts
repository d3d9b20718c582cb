// Validates documents against schema/*.schema.json with ajv and turns ajv's errors into diagnostics
// that point at the offending key or value. `oneOf` failures are narrowed to the branch whose type
// matches what the user wrote, so `wait: 3 days` says "expected a duration", not three errors.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { diagAt, findNearest, findNode, pointer, rangeOf, type PathSegment } from './locate.js';
import type { ParsedDocument } from './parse-yaml.js';
import { didYouMean } from '../diagnostics/suggest.js';

export const KINDS = ['Project', 'Segment', 'Template', 'Channel', 'Cascade', 'Journey', 'Policy'] as const;
export type Kind = (typeof KINDS)[number];

export const SCHEMA_DIR = fileURLToPath(new URL('../../schema/', import.meta.url));

type JsonSchema = Record<string, unknown>;

let compiled: { ajv: Ajv; validators: Map<Kind, ValidateFunction>; schemas: Map<string, JsonSchema> } | undefined;

function schemaFile(kind: Kind): string {
  return `${kind.toLowerCase()}.schema.json`;
}

function loadValidators() {
  if (compiled) return compiled;
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: false });
  const schemas = new Map<string, JsonSchema>();
  for (const file of ['defs.schema.json', ...KINDS.map(schemaFile)]) {
    const schema = JSON.parse(readFileSync(path.join(SCHEMA_DIR, file), 'utf8')) as JsonSchema;
    // The files carry no $id so editors resolve their relative $refs by file location; ajv needs one.
    schemas.set(file, schema);
    ajv.addSchema({ ...schema, $id: file }, file);
  }
  const validators = new Map<Kind, ValidateFunction>();
  for (const kind of KINDS) validators.set(kind, ajv.getSchema(schemaFile(kind)) as ValidateFunction);
  compiled = { ajv, validators, schemas };
  return compiled;
}

export function validateDocument(doc: ParsedDocument, kind: Kind): Diagnostic[] {
  const { validators, schemas } = loadValidators();
  const validate = validators.get(kind)!;
  if (validate(doc.value)) return [];
  const errors = narrowOneOf(validate.errors ?? [], doc.value, schemas, schemaFile(kind));
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const error of errors) {
    const d = toDiagnostic(doc, error);
    const key = `${d.code}:${d.line}:${d.column}:${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}

function parsePath(instancePath: string): PathSegment[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function valueAt(root: unknown, p: PathSegment[]): unknown {
  let v: unknown = root;
  for (const s of p) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[s as string];
  }
  return v;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function describe(v: unknown): string {
  const t = jsonType(v);
  if (t === 'object') return 'a mapping';
  if (t === 'array') return 'a list';
  if (t === 'string') return `the string ${JSON.stringify(v)}`;
  return `${t} ${JSON.stringify(v)}`;
}

function resolveSchema(schemas: Map<string, JsonSchema>, ref: string, currentFile: string): JsonSchema | undefined {
  const [filePart, pointerPart = ''] = ref.split('#');
  const file = filePart === '' ? currentFile : filePart;
  let node: unknown = schemas.get(file);
  for (const seg of pointerPart.split('/').filter(Boolean)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[seg.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node as JsonSchema | undefined;
}

function branchTypes(schemas: Map<string, JsonSchema>, branch: JsonSchema | undefined, file: string, depth = 0): string[] {
  if (!branch || depth > 5) return [];
  if (typeof branch.type === 'string') return [branch.type];
  if (Array.isArray(branch.type)) return branch.type as string[];
  if (typeof branch.$ref === 'string') {
    const ref = branch.$ref;
    const refFile = ref.startsWith('#') ? file : ref.split('#')[0];
    return branchTypes(schemas, resolveSchema(schemas, ref, file), refFile, depth + 1);
  }
  const values = (branch.enum as unknown[] | undefined) ?? ('const' in branch ? [branch.const] : undefined);
  if (values) return [...new Set(values.map(jsonType))];
  return [];
}

/**
 * For each failed oneOf, keep only the errors of the branches whose declared type matches the value.
 * When no branch matches the value's type, keep one "wrong type" error naming the accepted types.
 */
function narrowOneOf(errors: ErrorObject[], root: unknown, schemas: Map<string, JsonSchema>, rootFile: string): ErrorObject[] {
  const oneOfs = errors.filter((e) => e.keyword === 'oneOf');
  if (oneOfs.length === 0) return errors;
  const drop = new Set<ErrorObject>();
  for (const one of oneOfs) {
    const prefix = one.schemaPath; // e.g. defs.schema.json#/definitions/percentage/oneOf
    const value = valueAt(root, parsePath(one.instancePath));
    const vt = jsonType(value);
    const fileOf = prefix.includes('#') && !prefix.startsWith('#') ? prefix.split('#')[0] : rootFile;
    const branches = ((one.schema as JsonSchema[] | undefined) ?? []).map((b) => branchTypes(schemas, b, fileOf));
    // Errors from inside the branches; through a $ref their schemaPath no longer shows the branch, so
    // they are told apart by what they say about the value instead.
    const at = one.instancePath;
    const inside = errors.filter((e) => e !== one && (e.instancePath === at || e.instancePath.startsWith(at + '/')));
    const irrelevant = (e: ErrorObject) =>
      e.instancePath === at && (e.keyword === 'type' || ((e.keyword === 'enum' || e.keyword === 'const') && (vt === 'object' || vt === 'array')));
    if (inside.some((e) => !irrelevant(e))) {
      for (const e of inside) if (irrelevant(e)) drop.add(e);
      drop.add(one);
    } else {
      for (const e of inside) drop.add(e);
      const accepted = [...new Set(branches.flat())].map((t) => (t === 'object' ? 'a mapping' : t === 'array' ? 'a list' : `a ${t}`));
      one.keyword = 'type';
      one.message = `must be ${accepted.join(' or ')}, not ${describe(value)}`;
    }
  }
  return errors.filter((e) => !drop.has(e));
}

function toDiagnostic(doc: ParsedDocument, error: ErrorObject): Diagnostic {
  const p = parsePath(error.instancePath);
  const where = pointer(p);
  const field = p.length > 0 ? `'${p[p.length - 1]}'` : 'the document';
  const at = (located: ReturnType<typeof findNode>, prefer: 'key' | 'value' = 'value') => rangeOf(located, prefer);
  const value = valueAt(doc.value, p);
  switch (error.keyword) {
    case 'additionalProperties': {
      const extra = String((error.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys(((error.parentSchema as JsonSchema | undefined)?.properties as object | undefined) ?? {});
      const [s, e] = at(findNode(doc.doc, [...p, extra]), 'key');
      return diagAt(doc.source, s, e, 'HER1021', `unknown field '${extra}' in ${where === '/' ? 'the document' : where}`, {
        path: pointer([...p, extra]),
        hint: didYouMean(extra, allowed) ?? (allowed.length ? `allowed here: ${allowed.join(', ')}` : undefined),
      });
    }
    case 'required': {
      const missing = String((error.params as { missingProperty: string }).missingProperty);
      const located = findNearest(doc.doc, p);
      const [s, e] = p.length === 0 ? [0, 0] : at(located, 'key');
      return diagAt(doc.source, s, e, 'HER1020', `missing required field '${missing}' in ${where === '/' ? 'the document' : where}`, {
        path: pointer([...p, missing]),
      });
    }
    case 'type': {
      const [s, e] = at(findNearest(doc.doc, p));
      const expected = (error.params as { type?: string | string[] }).type;
      const message =
        error.message && error.message.startsWith('must be ') && error.message.includes(', not ')
          ? `${field} ${error.message}`
          : `${field} must be ${Array.isArray(expected) ? expected.join(' or ') : expected === 'object' ? 'a mapping' : expected === 'array' ? 'a list' : `a ${expected}`}, not ${describe(value)}`;
      return diagAt(doc.source, s, e, 'HER1022', message, { path: where });
    }
    case 'enum': {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
      const [s, e] = at(findNearest(doc.doc, p));
      return diagAt(doc.source, s, e, 'HER1023', `${field} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, not ${describe(value)}`, {
        path: where,
        hint: typeof value === 'string' ? didYouMean(value, allowed.map(String)) : undefined,
      });
    }
    case 'const': {
      const expected = (error.params as { allowedValue: unknown }).allowedValue;
      const [s, e] = at(findNearest(doc.doc, p));
      const code = p[0] === 'apiVersion' ? 'HER1011' : p[0] === 'kind' ? 'HER1012' : 'HER1023';
      return diagAt(doc.source, s, e, code, `${field} must be ${JSON.stringify(expected)}, not ${describe(value)}`, { path: where });
    }
    case 'pattern': {
      const [s, e] = at(findNearest(doc.doc, p));
      const description = (error.parentSchema as JsonSchema | undefined)?.description;
      return diagAt(doc.source, s, e, 'HER1023', `${field}: ${describe(value)} is not valid${description ? ` (${description})` : ''}`, {
        path: where,
        hint: typeof description === 'string' ? undefined : `expected to match ${(error.params as { pattern: string }).pattern}`,
      });
    }
    default: {
      const [s, e] = at(findNearest(doc.doc, p));
      return diagAt(doc.source, s, e, 'HER1023', `${field} ${error.message ?? 'is invalid'}`, { path: where });
    }
  }
}
