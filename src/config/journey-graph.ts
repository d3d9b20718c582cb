// Structural rules of a journey's step graph: every step reachable from the first, every cycle bounded
// by a step with max_visits. Pure over the normalised steps.
import type { JourneyStep } from './model.js';

/** The steps a step can lead to, in order. */
export function successors(steps: readonly JourneyStep[], step: JourneyStep): string[] {
  const next = steps[step.index + 1]?.id;
  const out: string[] = [];
  const a = step.action;
  switch (a.kind) {
    case 'exit':
      break;
    case 'branch':
      out.push(...a.branches.map((b) => b.goto));
      // No branch matched: continue with the explicit goto or the next step.
      if (step.goto) out.push(step.goto);
      else if (next) out.push(next);
      break;
    case 'split':
      out.push(...a.arms.map((arm) => arm.goto));
      break;
    case 'wait':
      if (a.onTimeout) out.push(a.onTimeout);
      if (a.onEvent) out.push(a.onEvent);
      if (!a.onTimeout || !a.onEvent || a.wait.kind === 'duration' || a.wait.kind === 'until') {
        if (step.goto) out.push(step.goto);
        else if (next) out.push(next);
      }
      break;
    default:
      if (step.goto) out.push(step.goto);
      else if (next) out.push(next);
  }
  // A step skipped by a false `if` continues to the next step in order.
  if (step.if && next && !out.includes(next)) out.push(next);
  return [...new Set(out)];
}

export function unreachableSteps(steps: readonly JourneyStep[], byId: ReadonlyMap<string, JourneyStep>): JourneyStep[] {
  if (steps.length === 0) return [];
  const seen = new Set<string>([steps[0].id]);
  const queue = [steps[0]];
  while (queue.length) {
    const step = queue.shift()!;
    for (const id of successors(steps, step)) {
      const s = byId.get(id);
      if (s && !seen.has(id)) {
        seen.add(id);
        queue.push(s);
      }
    }
  }
  return steps.filter((s) => !seen.has(s.id));
}

/**
 * Strongly connected components (Tarjan) that form a loop — more than one step, or a step leading to
 * itself — and contain no step with max_visits. Each is reported once, by its first step in order.
 */
export function unboundedCycles(steps: readonly JourneyStep[], byId: ReadonlyMap<string, JourneyStep>): JourneyStep[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: JourneyStep[][] = [];
  const connect = (id: string) => {
    indices.set(id, index);
    low.set(id, index);
    index++;
    stack.push(id);
    onStack.add(id);
    for (const next of successors(steps, byId.get(id)!)) {
      if (!byId.has(next)) continue;
      if (!indices.has(next)) {
        connect(next);
        low.set(id, Math.min(low.get(id)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(id, Math.min(low.get(id)!, indices.get(next)!));
      }
    }
    if (low.get(id) === indices.get(id)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== id);
      const members = component.map((c) => byId.get(c)!).sort((a, b) => a.index - b.index);
      const loops = members.length > 1 || successors(steps, members[0]).includes(members[0].id);
      if (loops && !members.some((m) => m.maxVisits !== undefined)) out.push(members);
    }
  };
  for (const s of steps) if (!indices.has(s.id)) connect(s.id);
  return out.sort((a, b) => a[0].index - b[0].index);
}
