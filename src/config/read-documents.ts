// Discover configuration files, read them (size-limited), parse YAML and validate each document
// against its kind's schema. Returns every document that passed, and every problem found.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isMap } from 'yaml';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { SourceText } from '../diagnostics/source-text.js';
import { diagAt, findNode, rangeOf } from './locate.js';
import { MAX_FILE_BYTES, parseYamlFile, type ParsedDocument } from './parse-yaml.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { KINDS, validateDocument, type Kind } from './validate-schema.js';

export interface KindedDocument extends ParsedDocument {
  kind: Kind;
  name: string;
  /** False when the document failed its schema: it is not built, but references to its name stay valid. */
  valid: boolean;
}

export interface ReadResult {
  root: string;
  documents: KindedDocument[];
  sources: Map<string, SourceText>;
  diagnostics: Diagnostic[];
}

const YAML_FILE = /\.ya?ml$/i;

/** Files under the given paths (files or directories), relative names sorted for a stable order. */
export function discoverFiles(paths: readonly string[], cwd: string): { files: string[]; missing: string[] } {
  const files = new Set<string>();
  const missing: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && YAML_FILE.test(entry.name)) files.add(full);
    }
  };
  for (const p of paths) {
    const full = path.resolve(cwd, p);
    let stat;
    try {
      stat = statSync(full);
    } catch {
      missing.push(p);
      continue;
    }
    if (stat.isDirectory()) walk(full);
    else files.add(full);
  }
  return { files: [...files].sort(), missing };
}

/** The directory paths are reported relative to: the common directory of the inputs. */
export function projectRoot(paths: readonly string[], cwd: string): string {
  const first = path.resolve(cwd, paths[0] ?? '.');
  try {
    return statSync(first).isDirectory() ? first : path.dirname(first);
  } catch {
    return cwd;
  }
}

export function displayPath(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel.startsWith('..') ? file : rel;
}

export function readDocuments(paths: readonly string[], cwd: string): ReadResult {
  const diagnostics: Diagnostic[] = [];
  const documents: KindedDocument[] = [];
  const sources = new Map<string, SourceText>();
  const { files, missing } = discoverFiles(paths, cwd);
  for (const m of missing) {
    diagnostics.push({ code: 'HER1006', severity: 'error', message: `no such file or directory: ${m}`, file: m });
  }
  if (files.length === 0 && missing.length === 0) {
    diagnostics.push({
      code: 'HER1007',
      severity: 'error',
      message: `no .yaml files found in ${paths.join(', ') || '.'}`,
      hint: 'point herald at the directory holding herald.yaml (e.g. campaigns/)',
    });
  }
  for (const file of files) {
    const shown = displayPath(file, cwd);
    const size = statSync(file).size;
    if (size > MAX_FILE_BYTES) {
      diagnostics.push({
        code: 'HER1005',
        severity: 'error',
        message: `${shown} is ${(size / 1024 / 1024).toFixed(1)} MB; configuration files are limited to ${MAX_FILE_BYTES / 1024 / 1024} MB`,
        file: shown,
        line: 1,
        column: 1,
        hint: 'split the file, or move data into a dataset',
      });
      continue;
    }
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      diagnostics.push({ code: 'HER1006', severity: 'error', message: `cannot read ${shown}: ${(error as Error).message}`, file: shown });
      continue;
    }
    const source = new SourceText(shown, text);
    sources.set(file, source);
    const parsed = parseYamlFile(source);
    diagnostics.push(...parsed.diagnostics);
    for (const doc of parsed.documents) {
      const kinded = classify(doc, diagnostics);
      if (kinded) documents.push(kinded);
    }
  }
  return { root: projectRoot(paths, cwd), documents, sources, diagnostics };
}

function classify(doc: ParsedDocument, diagnostics: Diagnostic[]): KindedDocument | undefined {
  const contents = doc.doc.contents;
  if (!isMap(contents) || doc.value === null || typeof doc.value !== 'object' || Array.isArray(doc.value)) {
    const r = contents?.range ?? [0, 0];
    diagnostics.push(
      diagAt(doc.source, r[0], r[1], 'HER1010', 'a Herald document must be a mapping with apiVersion, kind, metadata and spec'),
    );
    return undefined;
  }
  const value = doc.value as Record<string, unknown>;
  const kindAt = rangeOf(findNode(doc.doc, ['kind']));
  if (value.apiVersion !== 'herald/v1') {
    const located = findNode(doc.doc, ['apiVersion']);
    const [s, e] = located.node ? rangeOf(located) : [contents.range[0], contents.range[0]];
    diagnostics.push(
      diagAt(
        doc.source,
        s,
        e,
        'HER1011',
        value.apiVersion === undefined ? 'missing apiVersion' : `unknown apiVersion ${JSON.stringify(value.apiVersion)}`,
        { hint: 'use apiVersion: herald/v1', path: '/apiVersion' },
      ),
    );
    return undefined;
  }
  const kind = value.kind;
  if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) {
    const [s, e] = findNode(doc.doc, ['kind']).node ? kindAt : [contents.range[0], contents.range[0]];
    diagnostics.push(
      diagAt(doc.source, s, e, 'HER1012', kind === undefined ? 'missing kind' : `unknown kind ${JSON.stringify(kind)}`, {
        hint: (typeof kind === 'string' && didYouMean(kind, KINDS)) || `one of ${KINDS.join(', ')}`,
        path: '/kind',
      }),
    );
    return undefined;
  }
  const errors = validateDocument(doc, kind as Kind);
  diagnostics.push(...errors);
  const name = (value.metadata as { name?: unknown } | undefined)?.name;
  const valid = !errors.some((d) => d.severity === 'error');
  if (typeof name !== 'string') return undefined;
  return { ...doc, kind: kind as Kind, name, valid };
}
