// node-schedule wakes the worker at each cron occurrence of the active configuration, reschedules when the
// active version changes, and stops when asked (the durable rule of occurrences is in entry-sweeps.test.ts).
import { describe, expect, it } from 'vitest';
import type { Project } from '../../src/config/model.js';
import { startCronWaker } from '../../src/engine/worker/cron-waker.js';
import type { ProjectLoader } from '../../src/engine/worker/projects.js';

function projectWith(cron: string | undefined): Project {
  const journeys = new Map(cron ? [['tick', { meta: { name: 'tick' }, entry: { kind: 'schedule', cron } }]] : []);
  return { journeys, settings: { timezone: 'Europe/Berlin' } } as unknown as Project;
}

describe('cron waker', () => {
  it('wakes at every occurrence, follows the active version, and stops', async () => {
    let active: { version: string; project: Project } | undefined = { version: 'v1', project: projectWith('* * * * * *') }; // every second
    const loader: ProjectLoader = { active: async () => active, version: async () => active!.project };
    let wakes = 0;
    const waker = startCronWaker(loader, () => wakes++);
    await new Promise((r) => setTimeout(r, 2300));
    expect(wakes).toBeGreaterThanOrEqual(2);
    // A version without scheduled journeys: no more wake-ups.
    active = { version: 'v2', project: projectWith(undefined) };
    await waker.update();
    const after = wakes;
    await new Promise((r) => setTimeout(r, 1300));
    expect(wakes).toBe(after);
    // Back to a scheduled version, then stopped: nothing fires after stop().
    active = { version: 'v3', project: projectWith('* * * * * *') };
    await waker.update();
    waker.stop();
    const stopped = wakes;
    await new Promise((r) => setTimeout(r, 1300));
    expect(wakes).toBe(stopped);
  });
});
