// What changed between base and head, object by object: + added, ~ changed, - removed. A rename
// declared in metadata.previousNames is a change of the renamed object, not a remove and an add.
import type { ObjectMeta, Project } from '../config/model.js';
import type { ConfigChange } from './plan-report.js';

function objects(p: Project | undefined): ObjectMeta[] {
  if (!p) return [];
  return [
    p.settings.meta,
    ...[...p.segments.values()].map((x) => x.meta),
    ...[...p.templates.values()].map((x) => x.meta),
    ...[...p.channels.values()].map((x) => x.meta),
    ...[...p.cascades.values()].map((x) => x.meta),
    ...[...p.journeys.values()].map((x) => x.meta),
    ...[...p.policies.values()].map((x) => x.meta),
  ];
}

const KIND_ORDER = ['Project', 'Segment', 'Template', 'Channel', 'Cascade', 'Journey', 'Policy'];

export function diffConfig(base: Project | undefined, head: Project): ConfigChange[] {
  const baseByKey = new Map(objects(base).map((m) => [`${m.kind}/${m.name}`, m]));
  const seen = new Set<string>();
  const out: ConfigChange[] = [];
  for (const m of objects(head)) {
    let key = `${m.kind}/${m.name}`;
    let old = baseByKey.get(key);
    let renamedFrom: string | undefined;
    if (!old) {
      for (const prev of m.previousNames) {
        const k = `${m.kind}/${prev}`;
        if (baseByKey.has(k)) {
          old = baseByKey.get(k);
          key = k;
          renamedFrom = prev;
          break;
        }
      }
    }
    if (old) seen.add(key);
    if (!old && base === undefined) {
      out.push({ kind: m.kind, name: m.name, change: '+', file: m.location.file, line: m.location.line });
    } else if (!old) {
      out.push({ kind: m.kind, name: m.name, change: '+', file: m.location.file, line: m.location.line });
    } else if (old.fingerprint !== m.fingerprint || renamedFrom) {
      const c: ConfigChange = { kind: m.kind, name: m.name, change: '~', file: m.location.file, line: m.location.line };
      if (renamedFrom) c.renamedFrom = renamedFrom;
      out.push(c);
    }
  }
  for (const [key, m] of baseByKey) {
    if (!seen.has(key)) out.push({ kind: m.kind, name: m.name, change: '-', file: m.location.file, line: m.location.line });
  }
  return out.sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.name.localeCompare(b.name) || a.change.localeCompare(b.change));
}
