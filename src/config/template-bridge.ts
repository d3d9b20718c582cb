// Adapter between Template documents and src/templates: reads file-backed bodies, compiles the set for
// every event type the template is sent with (so `event.*` is checked against each), and maps template
// diagnostics back to file positions (inside the YAML string or the .hbs file).
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isScalar } from 'yaml';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { SourceText } from '../diagnostics/source-text.js';
import type { DataModel } from '../model/data-model.js';
import { compileTemplateSet, hasUnsubscribeLink, type CompiledTemplateSet, type JsonTemplate, type TemplateSetInput, type TemplateText } from '../templates/index.js';
import { buildMeta } from './build-objects.js';
import { diagAt, findNearest, findNode, rangeOf, scalarOffsetMapper, type PathSegment } from './locate.js';
import type { CascadeDef, ChannelType, JourneyDef, ProjectSettings, TemplateDef } from './model.js';
import type { KindedDocument } from './read-documents.js';

export type { CompiledTemplateSet };

/** Where a template text lives, to map its offsets back to a file. */
interface Origin {
  source: SourceText;
  toFileOffset(offset: number): number;
}

const MAX_TEMPLATE_BYTES = 512 * 1024;

function readInput(doc: KindedDocument, diagnostics: Diagnostic[], cwd: string): TemplateSetInput<Origin> | undefined {
  const spec = (doc.value as { spec: Record<string, any> }).spec;
  let ok = true;
  const inline = (p: PathSegment[]): TemplateText<Origin> => {
    const { node } = findNode(doc.doc, p);
    const map = isScalar(node) ? scalarOffsetMapper(doc.source, node) : () => 0;
    return { text: isScalar(node) ? String(node.value) : '', origin: { source: doc.source, toFileOffset: map } };
  };
  const textOrFile = (p: PathSegment[], value: unknown): TemplateText<Origin> | undefined => {
    if (typeof value === 'string') return inline(p);
    const rel = String((value as { file: string }).file);
    const abs = path.resolve(path.dirname(path.resolve(cwd, doc.source.file)), rel);
    const shown = path.relative(cwd, abs).startsWith('..') ? abs : path.relative(cwd, abs);
    try {
      if (statSync(abs).size > MAX_TEMPLATE_BYTES) throw new Error(`is larger than ${MAX_TEMPLATE_BYTES / 1024} KB`);
      const text = readFileSync(abs, 'utf8');
      return { text, origin: { source: new SourceText(shown, text), toFileOffset: (o) => o } };
    } catch (error) {
      ok = false;
      const [s, e] = rangeOf(findNode(doc.doc, [...p, 'file']));
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (error as Error).message;
      diagnostics.push(diagAt(doc.source, s, e, 'HER4005', `template file '${rel}' ${reason}`, { hint: `paths are relative to ${doc.source.file}` }));
      return undefined;
    }
  };
  const input: TemplateSetInput<Origin> = {};
  if (spec.email) {
    const e = spec.email;
    input.email = { subject: inline(['spec', 'email', 'subject']) };
    if (e.html !== undefined) input.email.html = textOrFile(['spec', 'email', 'html'], e.html);
    if (e.text !== undefined) input.email.text = textOrFile(['spec', 'email', 'text'], e.text);
  }
  if (spec.push) {
    input.push = { title: inline(['spec', 'push', 'title']), body: inline(['spec', 'push', 'body']) };
    if (spec.push.url !== undefined) input.push.url = inline(['spec', 'push', 'url']);
  }
  if (spec.sms !== undefined) input.sms = inline(['spec', 'sms']);
  if (spec.webhook !== undefined) input.webhook = { body: spec.webhook.body as JsonTemplate };
  return ok ? input : undefined;
}

/** 'webhook.body/a/0' → the YAML path of that string, whose scalar maps offsets. */
function webhookOrigin(doc: KindedDocument, variant: string): Origin {
  const pointer = variant.slice('webhook.body'.length).split('/').filter(Boolean);
  const p: PathSegment[] = ['spec', 'webhook', 'body', ...pointer.map((s) => (/^\d+$/.test(s) ? Number(s) : s))];
  const { node } = findNearest(doc.doc, p);
  return { source: doc.source, toFileOffset: isScalar(node) ? scalarOffsetMapper(doc.source, node) : () => node?.range?.[0] ?? 0 };
}

export function buildTemplate(
  doc: KindedDocument,
  model: DataModel,
  eventTypes: readonly (string | undefined)[],
  settings: ProjectSettings,
  diagnostics: Diagnostic[],
  cwd: string,
): TemplateDef | undefined {
  void settings;
  const input = readInput(doc, diagnostics, cwd);
  if (!input) return undefined;
  let first: CompiledTemplateSet | undefined;
  let failed = false;
  const seen = new Set<string>();
  for (const eventType of eventTypes) {
    const result = compileTemplateSet(input, model, eventType ? { eventType } : {});
    for (const t of result.diagnostics) {
      const origin = t.origin ?? (t.variant.startsWith('webhook') ? webhookOrigin(doc, t.variant) : { source: doc.source, toFileOffset: () => doc.doc.contents?.range[0] ?? 0 });
      const d = t.diagnostic;
      const start = origin.toFileOffset(d.span.start);
      const end = Math.max(start, origin.toFileOffset(d.span.end));
      const diag = diagAt(origin.source, start, end, d.code, eventType && d.message.includes('event') ? `${d.message} (sent by journeys entered on '${eventType}')` : d.message, { severity: d.severity, hint: d.hint });
      const key = `${diag.code}:${diag.file}:${diag.line}:${diag.column}`;
      if (seen.has(key)) continue;
      seen.add(key);
      diagnostics.push(diag);
    }
    if (!result.templateSet) failed = true;
    first ??= result.templateSet;
  }
  if (failed || !first) return undefined;
  const variants = new Set<ChannelType>((['email', 'push', 'sms', 'webhook'] as const).filter((c) => input[c] !== undefined));
  return { meta: buildMeta(doc), compiled: first, variants };
}

export function templateHasUnsubscribe(def: TemplateDef): boolean {
  return def.compiled.email ? hasUnsubscribeLink(def.compiled.email) : true;
}

/**
 * For each template, the event types that trigger the journeys sending it (undefined for journeys
 * entered by segment or schedule, and for templates no journey uses).
 */
export function templateEventUsages(
  journeys: ReadonlyMap<string, JourneyDef>,
  cascades: ReadonlyMap<string, CascadeDef>,
): Map<string, (string | undefined)[]> {
  const usages = new Map<string, Set<string | undefined>>();
  const add = (template: string, event: string | undefined) => {
    const set = usages.get(template) ?? new Set();
    set.add(event);
    usages.set(template, set);
  };
  for (const j of journeys.values()) {
    const event = j.entry.kind === 'event' ? j.entry.event : undefined;
    for (const step of j.steps) {
      if (step.action.kind === 'send') add(step.action.template, event);
      if (step.action.kind === 'cascade') for (const cs of cascades.get(step.action.cascade)?.steps ?? []) add(cs.template, event);
    }
  }
  return new Map([...usages].map(([k, v]) => [k, [...v]]));
}
