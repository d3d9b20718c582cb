// Rules across documents: every name resolves (with a did-you-mean), segment references form no cycle,
// journeys' step graphs are sound, channels used for marketing email carry an unsubscribe link.
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { unboundedCycles, unreachableSteps } from './journey-graph.js';
import type { CascadeDef, ChannelDef, ChannelType, JourneyDef, PolicyDef, SegmentDef, SourceLocation, TemplateDef } from './model.js';

export interface Known {
  segments: ReadonlySet<string>;
  templates: ReadonlySet<string>;
  channels: ReadonlySet<string>;
  cascades: ReadonlySet<string>;
  policies: ReadonlySet<string>;
}

function at(loc: SourceLocation, code: string, message: string, hint?: string, severity: 'error' | 'warning' = 'error'): Diagnostic {
  const d: Diagnostic = { code, severity, message, file: loc.file, line: loc.line, column: loc.column };
  if (hint) d.hint = hint;
  return d;
}

function unknown(kind: string, name: string, known: ReadonlySet<string>, loc: SourceLocation): Diagnostic {
  return at(loc, 'HER4002', `unknown ${kind} '${name}'`, didYouMean(name, known) ?? (known.size ? `known ${kind}s: ${[...known].sort().join(', ')}` : `no ${kind} is defined`));
}

/** Segments in dependency order; members of a reference cycle are reported and left out. */
export function orderSegments(segments: ReadonlyMap<string, SegmentDef>, diagnostics: Diagnostic[]): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const reported = new Set<string>();
  const visit = (name: string, trail: string[]): boolean => {
    const s = state.get(name);
    if (s === 'done') return true;
    if (s === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(name)), name];
      const key = [...cycle].sort().join(',');
      if (!reported.has(key)) {
        reported.add(key);
        diagnostics.push(at(segments.get(name)!.meta.location, 'HER4003', `segment reference cycle: ${cycle.join(' → ')}`, 'a segment cannot depend on itself, directly or through others'));
      }
      return false;
    }
    const def = segments.get(name);
    if (!def) return true; // unknown names are reported by the expression checker
    state.set(name, 'visiting');
    let ok = true;
    for (const dep of def.where.segments) ok = visit(dep, [...trail, name]) && ok;
    state.set(name, 'done');
    if (ok) order.push(name);
    return ok;
  };
  for (const name of [...segments.keys()].sort()) visit(name, []);
  return order;
}

export function checkCascade(c: CascadeDef, known: Known, channels: ReadonlyMap<string, ChannelDef>, templates: ReadonlyMap<string, TemplateDef>, out: Diagnostic[]): void {
  for (const step of c.steps) {
    checkSendTarget(step.channel, step.template, step.location, known, channels, templates, out);
  }
}

function checkSendTarget(channel: string, template: string, loc: SourceLocation, known: Known, channels: ReadonlyMap<string, ChannelDef>, templates: ReadonlyMap<string, TemplateDef>, out: Diagnostic[]): void {
  if (!known.channels.has(channel)) out.push(unknown('channel', channel, known.channels, loc));
  if (!known.templates.has(template)) out.push(unknown('template', template, known.templates, loc));
  const ch = channels.get(channel);
  const tpl = templates.get(template);
  if (ch && tpl && !tpl.variants.has(ch.type)) {
    out.push(at(loc, 'HER4023', `template '${template}' has no ${ch.type} variant for channel '${channel}'`, `add spec.${ch.type} to template '${template}' (it has: ${[...tpl.variants].join(', ') || 'none'})`));
  }
}

export function checkJourney(j: JourneyDef, known: Known, channels: ReadonlyMap<string, ChannelDef>, templates: ReadonlyMap<string, TemplateDef>, out: Diagnostic[]): void {
  const loc = j.meta.location;
  if (j.entry.kind !== 'event' && j.entry.segment !== undefined && !known.segments.has(j.entry.segment)) {
    out.push(unknown('segment', j.entry.segment, known.segments, j.entryLocation));
  }
  if (j.policy !== undefined && !known.policies.has(j.policy)) out.push(unknown('policy', j.policy, known.policies, loc));
  const ids = new Set(j.steps.map((s) => s.id));
  const stepRef = (id: string | undefined, where: SourceLocation) => {
    if (id !== undefined && !ids.has(id)) out.push(unknown('step', id, ids, where));
  };
  for (const step of j.steps) {
    const a = step.action;
    stepRef(step.goto, step.location);
    switch (a.kind) {
      case 'send':
        checkSendTarget(a.channel, a.template, step.location, known, channels, templates, out);
        break;
      case 'cascade':
        if (!known.cascades.has(a.cascade)) out.push(unknown('cascade', a.cascade, known.cascades, step.location));
        break;
      case 'wait':
        stepRef(a.onTimeout, step.location);
        stepRef(a.onEvent, step.location);
        if (a.wait.kind === 'message') {
          const target = j.stepsById.get(a.wait.step);
          if (!target) out.push(unknown('step', a.wait.step, ids, step.location));
          else if (target.action.kind !== 'send' && target.action.kind !== 'cascade') {
            out.push(at(step.location, 'HER4017', `step '${step.id}' waits for message '${a.wait.step}', but that step does not send`, 'name a send or cascade step'));
          }
        }
        break;
      case 'branch':
        for (const b of a.branches) stepRef(b.goto, step.location);
        break;
      case 'split':
        for (const arm of a.arms) stepRef(arm.goto, step.location);
        break;
      case 'exit':
      case 'noop':
        break;
    }
  }
  if (out.some((d) => d.severity === 'error' && d.file === loc.file)) {
    // Graph rules on a journey with dangling references would only repeat those errors.
    const dangling = j.steps.some((s) => [s.goto].some((g) => g !== undefined && !ids.has(g)));
    if (dangling) return;
  }
  for (const step of unreachableSteps(j.steps, j.stepsById)) {
    out.push(at(step.location, 'HER4010', `step '${step.id}' of journey '${j.meta.name}' can never be reached`, 'remove it, or point a goto / on_timeout / on_event / branch at it'));
  }
  for (const cycle of unboundedCycles(j.steps, j.stepsById)) {
    out.push(at(cycle[0].location, 'HER4012', `steps ${cycle.map((s) => `'${s.id}'`).join(' → ')} form a loop with no max_visits`, `add max_visits: N to one of them (e.g. '${cycle[0].id}') so a customer cannot loop forever`));
  }
}

export function checkPolicy(p: PolicyDef, known: Known, out: Diagnostic[]): void {
  for (const cap of p.frequency) for (const c of cap.channels) if (!known.channels.has(c)) out.push(unknown('channel', c, known.channels, p.meta.location));
  for (const b of p.budget) if (!known.channels.has(b.channel)) out.push(unknown('channel', b.channel, known.channels, p.meta.location));
}

/** Email templates a journey sends, directly or through cascades, with where each is sent from. */
export function emailSends(
  j: JourneyDef,
  channels: ReadonlyMap<string, ChannelDef>,
  cascades: ReadonlyMap<string, CascadeDef>,
): { template: string; location: SourceLocation; channelType: ChannelType }[] {
  const out: { template: string; location: SourceLocation; channelType: ChannelType }[] = [];
  for (const step of j.steps) {
    const a = step.action;
    if (a.kind === 'send') {
      const ch = channels.get(a.channel);
      if (ch) out.push({ template: a.template, location: step.location, channelType: ch.type });
    } else if (a.kind === 'cascade') {
      for (const cs of cascades.get(a.cascade)?.steps ?? []) {
        const ch = channels.get(cs.channel);
        if (ch) out.push({ template: cs.template, location: cs.location, channelType: ch.type });
      }
    }
  }
  return out;
}

export function checkUnsubscribe(
  journeys: ReadonlyMap<string, JourneyDef>,
  channels: ReadonlyMap<string, ChannelDef>,
  cascades: ReadonlyMap<string, CascadeDef>,
  templates: ReadonlyMap<string, TemplateDef>,
  hasUnsubscribe: (t: TemplateDef) => boolean,
  out: Diagnostic[],
): void {
  const reported = new Set<string>();
  for (const j of journeys.values()) {
    if (j.class !== 'marketing') continue;
    for (const send of emailSends(j, channels, cascades)) {
      const tpl = templates.get(send.template);
      if (send.channelType !== 'email' || !tpl || reported.has(tpl.meta.name) || hasUnsubscribe(tpl)) continue;
      reported.add(tpl.meta.name);
      out.push(at(tpl.meta.location, 'HER4021', `template '${tpl.meta.name}' is sent as marketing email (journey '${j.meta.name}') but has no unsubscribe link`, 'add {{unsubscribe_url}} to the html and text bodies; Herald adds the RFC 8058 List-Unsubscribe headers itself'));
    }
  }
}

/** Guard metrics the plan can compute (see README: Guards). */
export function checkGuardMetrics(
  guards: readonly { metric: string }[],
  known: Known,
  journeys: ReadonlySet<string>,
  location: SourceLocation,
  out: Diagnostic[],
): void {
  for (const g of guards) {
    const [head, name, field] = g.metric.split('.');
    const ok =
      ['cost.total', 'cost.change_pct', 'messages.total', 'audience.change_pct'].includes(g.metric) ||
      ((head === 'cost' || head === 'messages') && field === undefined && known.channels.has(name)) ||
      (head === 'segment' && known.segments.has(name) && (field === 'size' || field === 'change_pct')) ||
      (head === 'journey' && journeys.has(name) && ['entered', 'messages', 'cost', 'converted'].includes(field ?? ''));
    if (!ok) {
      out.push(
        at(
          location,
          'HER4027',
          `unknown guard metric '${g.metric}'`,
          'one of cost.total, cost.change_pct, cost.<channel>, messages.total, messages.<channel>, audience.change_pct, segment.<name>.size|change_pct, journey.<name>.entered|messages|cost|converted',
        ),
      );
    }
  }
}
