// The raw files a configuration version is made of: every YAML file the Project was read from plus the
// template bodies they reference (`html: { file: … }`), as text, keyed by their path relative to the
// project root. A version's id is the sha256 of these files in canonical form, so the same content always
// gets the same id wherever and whenever it is applied.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadProject, type LoadResult } from '../config/build-project.js';
import type { Project } from '../config/model.js';
import { ENGINE_CODE } from './codes.js';
import { EngineError } from './errors.js';

export interface ConfigFile {
  /** Relative to the project root, `/`-separated, no `..`. */
  path: string;
  text: string;
}

/** Reads the files of a loaded Project, checking the YAML ones still hash as they did when loaded. */
export function collectConfigFiles(project: Project): ConfigFile[] {
  const out = new Map<string, ConfigFile>();
  for (const f of project.files) {
    const rel = toPosix(f.path);
    assertInside(rel);
    const text = readFileSync(path.join(project.root, f.path), 'utf8');
    if (sha256(text) !== f.sha256) {
      throw new EngineError('invalid', ENGINE_CODE.filesChanged, `${rel} changed after it was loaded`, 'run the command again');
    }
    out.set(rel, { path: rel, text });
    for (const ref of templateFileRefs(text)) {
      const target = toPosix(path.posix.normalize(path.posix.join(path.posix.dirname(rel), ref)));
      assertInside(target, `${rel} references ${ref}`);
      if (!out.has(target)) out.set(target, { path: target, text: readFileSync(path.join(project.root, target), 'utf8') });
    }
  }
  return sortFiles([...out.values()]);
}

/** sha256 (hex) of the files in canonical form: sorted by path, as JSON [[path, text], …]. */
export function configVersionId(files: readonly ConfigFile[]): string {
  return sha256(canonicalContent(files));
}

export function canonicalContent(files: readonly ConfigFile[]): string {
  return JSON.stringify(sortFiles(files).map((f) => [f.path, f.text]));
}

/** Writes the files into a fresh temporary directory and loads them: a stored version as a Project. */
export function loadConfigFiles(files: readonly ConfigFile[]): LoadResult {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-version-'));
  try {
    for (const f of files) {
      assertInside(f.path);
      const full = path.join(dir, ...f.path.split('/'));
      mkdirSync(path.dirname(full), { recursive: true });
      writeFileSync(full, f.text);
    }
    // Loaded with the temp dir as cwd so diagnostics name the files by their stored paths.
    return loadProject(['.'], { cwd: dir });
  } finally {
    // The Project keeps compiled templates and expressions in memory; the files are not read again.
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Checks the shape of a file list before it is stored: relative unique paths, at least one file. */
export function checkConfigFiles(files: readonly ConfigFile[]): void {
  if (files.length === 0) throw new EngineError('invalid', ENGINE_CODE.configInvalid, 'no configuration files to apply');
  const seen = new Set<string>();
  for (const f of files) {
    assertInside(f.path);
    if (seen.has(f.path)) throw new EngineError('invalid', ENGINE_CODE.configInvalid, `${f.path} appears twice`);
    seen.add(f.path);
    if (typeof f.text !== 'string') throw new EngineError('invalid', ENGINE_CODE.configInvalid, `${f.path} has no text`);
  }
}

function templateFileRefs(text: string): string[] {
  const refs: string[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (!('toJS' in doc)) continue;
    const value = doc.toJS() as { kind?: unknown; spec?: { email?: Record<string, unknown> } } | null;
    if (!value || value.kind !== 'Template') continue;
    for (const key of ['html', 'text']) {
      const body = value.spec?.email?.[key] as { file?: unknown } | undefined;
      if (body && typeof body === 'object' && typeof body.file === 'string') refs.push(body.file);
    }
  }
  return refs;
}

function assertInside(rel: string, context?: string): void {
  const parts = rel.split('/');
  if (rel === '' || path.posix.isAbsolute(rel) || path.win32.isAbsolute(rel) || parts.includes('..')) {
    throw new EngineError(
      'invalid',
      ENGINE_CODE.fileOutsideRoot,
      `${context ?? rel} lies outside the project directory`,
      'apply the directory that holds every configuration file (e.g. herald apply campaigns/)',
    );
  }
}

function sortFiles(files: readonly ConfigFile[]): ConfigFile[] {
  return [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
