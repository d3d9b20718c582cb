// read → build → check: turns configuration files into one immutable Project, or every problem found.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { hasErrors } from '../diagnostics/diagnostic.js';
import type { DataModel } from '../model/data-model.js';
import { buildDataModel } from './build-data-model.js';
import { buildCascade, buildChannel, buildJourney, buildMeta, buildPolicy, buildSegment, type BuildContext } from './build-objects.js';
import { checkCascade, checkGuardMetrics, checkJourney, checkPolicy, checkUnsubscribe, orderSegments, type Known } from './check-references.js';
import type { CascadeDef, ChannelDef, JourneyDef, PolicyDef, Project, SegmentDef, TemplateDef } from './model.js';
import { readDocuments, type KindedDocument } from './read-documents.js';
import { buildTemplate, templateEventUsages, templateHasUnsubscribe } from './template-bridge.js';
import type { Kind } from './validate-schema.js';

export interface LoadResult {
  project?: Project;
  diagnostics: Diagnostic[];
  /** Configuration files read (including ones that failed). */
  fileCount: number;
}

export interface LoadOptions {
  cwd?: string;
}

export function loadProject(paths: readonly string[], options: LoadOptions = {}): LoadResult {
  const cwd = options.cwd ?? process.cwd();
  const read = readDocuments(paths.length ? paths : ['.'], cwd);
  const diagnostics = [...read.diagnostics];
  const byKind = new Map<Kind, KindedDocument[]>();
  const names = new Map<Kind, Set<string>>();
  for (const doc of read.documents) {
    const list = byKind.get(doc.kind) ?? [];
    const seen = names.get(doc.kind) ?? new Set<string>();
    if (seen.has(doc.name)) {
      const first = list.find((d) => d.name === doc.name)!;
      const pos = first.source.position(first.doc.contents?.range[0] ?? 0);
      const meta = buildMeta(doc);
      diagnostics.push({
        code: 'HER4001',
        severity: 'error',
        message: `${doc.kind} '${doc.name}' is defined twice (first at ${first.source.file}:${pos.line})`,
        file: meta.location.file,
        line: meta.location.line,
        column: meta.location.column,
        hint: 'names are unique per kind; rename one of them',
      });
      continue;
    }
    seen.add(doc.name);
    names.set(doc.kind, seen);
    list.push(doc);
    byKind.set(doc.kind, list);
  }
  const docs = (kind: Kind) => byKind.get(kind) ?? [];
  const valid = (kind: Kind) => docs(kind).filter((d) => d.valid);
  const nameSet = (kind: Kind) => new Set(docs(kind).map((d) => d.name));

  const projects = docs('Project');
  if (projects.length === 0) {
    if (!hasErrors(diagnostics)) {
      diagnostics.push({ code: 'HER1030', severity: 'error', message: 'no Project document found', hint: 'add herald.yaml with kind: Project declaring the data model (see README)' });
    }
    return { diagnostics, fileCount: read.sources.size };
  }
  if (projects.length > 1) {
    for (const extra of projects.slice(1)) {
      const meta = buildMeta(extra);
      diagnostics.push({ code: 'HER1031', severity: 'error', message: `more than one Project document (also '${projects[0].name}' in ${projects[0].source.file})`, file: meta.location.file, line: meta.location.line, column: meta.location.column });
    }
  }
  const projectDoc = projects[0];
  if (!projectDoc.valid) return { diagnostics, fileCount: read.sources.size };
  const { model, settings } = buildDataModel(projectDoc, buildMeta(projectDoc), diagnostics);
  const projectDir = path.dirname(path.resolve(cwd, projectDoc.source.file));
  if (settings.plan.dataset) settings.plan.dataset = path.resolve(projectDir, settings.plan.dataset);

  const ctx: BuildContext = { model, segmentNames: nameSet('Segment'), diagnostics };
  const segments = collect(valid('Segment'), (d) => buildSegment(d, ctx));
  const channels = collect(valid('Channel'), (d) => buildChannel(d, ctx));
  const cascades = collect(valid('Cascade'), (d) => buildCascade(d, ctx));
  const policies = collect(valid('Policy'), (d) => buildPolicy(d));
  const journeys = collect(valid('Journey'), (d) => buildJourney(d, ctx));
  const usages = templateEventUsages(journeys, cascades);
  const templates = collect(valid('Template'), (d) => buildTemplate(d, model, usages.get(d.name) ?? [undefined], settings, diagnostics, cwd));

  const known: Known = {
    segments: nameSet('Segment'),
    templates: nameSet('Template'),
    channels: nameSet('Channel'),
    cascades: nameSet('Cascade'),
    policies: nameSet('Policy'),
  };
  const segmentOrder = orderSegments(segments, diagnostics);
  for (const c of cascades.values()) checkCascade(c, known, channels, templates, diagnostics);
  for (const j of journeys.values()) checkJourney(j, known, channels, templates, diagnostics);
  for (const p of policies.values()) checkPolicy(p, known, diagnostics);
  checkUnsubscribe(journeys, channels, cascades, templates, templateHasUnsubscribe, diagnostics);
  checkGuardMetrics(settings.plan.guards, known, nameSet('Journey'), settings.meta.location, diagnostics);

  const sorted = sortDiagnostics(diagnostics);
  if (hasErrors(sorted)) return { diagnostics: sorted, fileCount: read.sources.size };
  const files = [...read.sources.entries()]
    .map(([abs, src]) => ({ path: path.relative(read.root, abs), sha256: createHash('sha256').update(src.text).digest('hex') }))
    .sort((a, b) => a.path.localeCompare(b.path));
  const project: Project = deepFreeze({
    root: read.root,
    settings,
    model: model as DataModel,
    segments,
    segmentOrder,
    templates,
    channels,
    cascades,
    journeys,
    policies,
    files,
  });
  return { project, diagnostics: sorted, fileCount: read.sources.size };
}

function collect<T extends { meta: { name: string } }>(docs: KindedDocument[], build: (d: KindedDocument) => T | undefined): Map<string, T> {
  const out = new Map<string, T>();
  for (const d of docs) {
    const built = build(d);
    if (built) out.set(built.meta.name, built);
  }
  return out;
}

export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      (a.file ?? '').localeCompare(b.file ?? '') ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      a.code.localeCompare(b.code),
  );
}

/** The Project is shared by plan and engine; freezing it turns an accidental mutation into an error. */
function deepFreeze<T>(value: T, seen = new Set<unknown>()): T {
  if (value === null || typeof value !== 'object' || seen.has(value)) return value;
  seen.add(value);
  const proto = Object.getPrototypeOf(value);
  // Compiled expressions and templates own their internals; only the plain model is frozen.
  if (proto !== Object.prototype && proto !== Array.prototype && !(value instanceof Map)) return value;
  if (value instanceof Map) {
    for (const v of value.values()) deepFreeze(v, seen);
  } else if (!(value instanceof Set) && !ArrayBuffer.isView(value)) {
    for (const v of Object.values(value as object)) if (typeof v === 'object') deepFreeze(v, seen);
    Object.freeze(value);
  }
  return value;
}

export type { Project, SegmentDef, TemplateDef, ChannelDef, CascadeDef, JourneyDef, PolicyDef };
