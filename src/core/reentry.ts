// Whether a customer may enter a journey now: one rule for the plan and the engine.
import type { JourneyDef } from '../config/model.js';

export function mayEnter(journey: JourneyDef, history: { active: boolean; lastEntryAt?: number }, at: number): boolean {
  if (history.active) return false;
  if (history.lastEntryAt === undefined) return true;
  const r = journey.reentry;
  switch (r.kind) {
    case 'once':
      return false;
    case 'always':
      return true;
    case 'after':
      return at >= history.lastEntryAt + r.ms;
  }
}
