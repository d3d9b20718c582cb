// Every compiled expression of a project, wherever it sits: segments, event-entry conditions, goals, step
// conditions, branches and wait-for-event filters; and the inputs they read. Hosts that compute
// population-wide inputs (the plan's derived inputs, the engine's model fits) or decode attributes ask here
// rather than walking the project themselves.
import type { CompiledExpression } from '../expr/api.js';
import type { InputSpec } from '../model/inputs.js';
import type { Project } from './model.js';

export function projectExpressions(project: Project): CompiledExpression[] {
  const out: CompiledExpression[] = [];
  const add = (e: CompiledExpression | undefined) => e && out.push(e);
  for (const s of project.segments.values()) add(s.where);
  for (const j of project.journeys.values()) {
    if (j.entry.kind === 'event') add(j.entry.where);
    add(j.goal?.where);
    for (const step of j.steps) {
      add(step.if);
      if (step.action.kind === 'branch') for (const b of step.action.branches) add(b.when);
      if (step.action.kind === 'wait' && step.action.wait.kind === 'event') add(step.action.wait.where);
    }
  }
  return out;
}

export function projectInputs(project: Project): InputSpec[] {
  return projectExpressions(project).flatMap((e) => e.inputs);
}
