// The plan never looks at a customer whose rows cannot reach a `count(…) >= K` inside the window, and gates
// `not segment("X")` like a clock-free condition when X allows it: both read only off conjuncts of exactly
// those shapes, and never excluding a member.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/build-project.js';
import type { Project, SegmentDef } from '../../src/config/model.js';
import type { Dataset } from '../../src/dataset/dataset.js';
import { loadDataset } from '../../src/dataset/load-dataset.js';
import { derivedProvider } from '../../src/plan/derived-inputs.js';
import { checkSegments } from '../../src/plan/explain.js';
import { neverMembers, segmentConjuncts } from '../../src/plan/segment-gate.js';
import { REPO_ROOT } from '../support/run-cli.js';
import { DAY, HOUR, NOW, purchases, smallShop, writeDataset, type Person } from '../support/plan-dataset.js';

let project: Project;
let dataset: Dataset;

/** The project with one more segment (only its source is read when splitting). */
function withSegment(where: string): Project {
  const def = project.segments.get('frequent-buyers')!;
  const segments = new Map(project.segments);
  segments.set('extra', { ...def, where: { ...def.where, source: where } } as SegmentDef);
  return { ...project, segments };
}

beforeAll(() => {
  project = loadProject([path.join(REPO_ROOT, 'campaigns')], { cwd: REPO_ROOT }).project!;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-gate-'));
  const people: Person[] = [
    ...smallShop(),
    // Four purchases before the window and one inside it: five in 30 days only from day 8 on.
    { id: 'late', events: purchases('late', [-20, -18, -15, -10, 8].map((d) => NOW + d * DAY)) },
  ];
  writeDataset(dir, people);
  dataset = loadDataset(dir, project.model).dataset!;
});

describe('what the gate reads off a segment', () => {
  it('are read off `count(…) >= K` and `count(…) > K` only', () => {
    const bounds = (segment: string, p = project) => segmentConjuncts(p, segment)!.map((c) => c.atLeast?.min);
    expect(bounds('frequent-buyers')).toEqual([5]);
    expect(bounds('viewed-not-bought')).toEqual([1, undefined]);
    expect(bounds('lapsed-loyal')).toEqual([5, undefined]);
    expect(bounds('extra', withSegment('count(purchase) > 2.5 and count(purchase) >= 0'))).toEqual([3, undefined]);
    expect(bounds('extra', withSegment('count(purchase) >= 3 or sms_opt_in'))).toEqual([undefined]);
    expect(bounds('extra', withSegment('count(purchase) >= 1 or count(purchase, within: 7d) >= 1'))).toEqual([undefined]);
    expect(bounds('extra', withSegment('count(purchase) - 5 >= 1'))).toEqual([undefined]);
    expect(bounds('extra', withSegment('count(purchase) <= 3'))).toEqual([undefined]);
    expect(bounds('extra', withSegment('sum(purchase.amount) >= 3'))).toEqual([undefined]);
  });

  it('take `not segment("X")` as clock-free only when X keeps its members until an event or an age-out', () => {
    const third = segmentConjuncts(project, 'rfm-at-risk')![2];
    expect(third.timeDependent).toBe(false);
    expect(third.windows.map((w) => w.key)).toEqual(['count|purchase|within=31536000000']);
    const p = withSegment('not segment("rfm-at-risk")');
    expect(segmentConjuncts(p, 'extra')![0].timeDependent).toBe(true);
    const q = withSegment('not segment("lapsed-loyal") or sms_opt_in');
    expect(segmentConjuncts(q, 'extra')![0].timeDependent).toBe(true);
  });

  it('exclude no customer who is a member at any hour of the window', () => {
    const end = NOW + 30 * DAY;
    const derived = derivedProvider(project, dataset, NOW);
    for (const segment of ['frequent-buyers', 'lapsed-loyal', 'viewed-not-bought', 'loyal-big-spenders']) {
      const never = neverMembers(dataset, segmentConjuncts(project, segment), NOW, end)!;
      let excluded = 0;
      for (let c = 0; c < dataset.customerCount; c++) {
        if (never[c] === 0) continue;
        excluded++;
        for (let t = NOW; t <= end; t += 3 * HOUR) expect(checkSegments(project, dataset, c, t, derived, [segment])[0].holds).toBe(false);
      }
      expect(excluded).toBeGreaterThan(0);
    }
    const late = dataset.customerIndex('late');
    expect(neverMembers(dataset, segmentConjuncts(project, 'frequent-buyers'), NOW, end)![late]).toBe(0);
    expect(checkSegments(project, dataset, late, NOW + 8 * DAY, derived, ['frequent-buyers'])[0].holds).toBe(true);
  });
});
