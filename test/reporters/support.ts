// Fixtures for the plan reporter tests: the realistic example plan and a synthetic huge one.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliIO } from '../../src/cli/io.js';
import type { JourneyOutcome, PlanReport, StepOutcome } from '../../src/plan/plan-report.js';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/plans');
export const EXAMPLE_PATH = path.join(FIXTURES, 'example.json');

/** A fresh copy each call, so a test may edit it. */
export function loadExample(): PlanReport {
  return JSON.parse(readFileSync(EXAMPLE_PATH, 'utf8')) as PlanReport;
}

/** Unmasked contact patterns: an email with no *** in it, a phone of 8+ digits. */
export function findUnmasked(text: string): string[] {
  const emails = (text.match(/[\w.]+@[\w.]+\.\w+/g) ?? []).filter((m) => !m.includes('***'));
  const phones = text.match(/\+\d{8,}/g) ?? [];
  return [...emails, ...phones];
}

/** A plan far beyond GitHub's comment limit: `journeys` journeys of `steps` steps each, every one changed. */
export function syntheticReport(journeys = 500, steps = 20): PlanReport {
  const base = loadExample();
  const js: JourneyOutcome[] = [];
  for (let j = 0; j < journeys; j++) {
    const st: StepOutcome[] = [];
    for (let s = 0; s < steps; s++) {
      const n = 10_000 - j * 7 - s * 31;
      st.push({
        id: `step-${s}-of-journey-${j}`,
        kind: s % 3 === 0 ? 'cascade' : s % 3 === 1 ? 'send' : 'wait',
        label: s % 3 === 0 ? `cascade offer-${j} (push → email → sms) if count(purchase, within: 3d) == 0` : s % 3 === 1 ? `email: template-${j}-${s}` : 'wait 2d',
        entered: n,
        sent: s % 3 === 2 ? {} : { push: Math.floor(n / 2), email: Math.floor(n / 3), sms: Math.floor(n / 10) },
        delivered: Math.floor(n * 0.8),
        opened: Math.floor(n * 0.2),
        clicked: Math.floor(n * 0.04),
        suppressed: { no_consent: 12, frequency_cap: 3, quiet_hours: 1 },
        deferred: 2,
        cost: Math.round(n * 0.6) / 100,
      });
    }
    js.push({
      name: `journey-${String(j).padStart(3, '0')}|pipe`,
      class: 'marketing',
      entry: `segment seg-${j % 50}`,
      entered: 10_000 - j,
      heldOut: 1000,
      converted: 300,
      exited: 9000,
      messages: 50_000,
      cost: 1234.5,
      steps: st,
      base: { entered: 9_000, messages: 40_000, cost: 1000, converted: 280 },
    });
  }
  return {
    ...base,
    summary: { ...base.summary, journeys },
    configDiff: Array.from({ length: 300 }, (_, i) => ({
      kind: 'Journey',
      name: `journey-${String(i).padStart(3, '0')}|pipe`,
      change: (['+', '~', '-'] as const)[i % 3],
      file: `campaigns/journeys/journey-${i}.yaml`,
      line: 3,
    })),
    segments: Array.from({ length: 200 }, (_, i) => ({
      name: `seg-${i}`,
      description: 'A segment with a reasonably long description to take some room in the table',
      size: 1000 + i,
      baseSize: 900 + i,
      change: 100,
      changePct: 11.1,
      sample: ['c-00001 a***@e***.com'],
    })),
    journeys: js,
    traces: Array.from({ length: 20 }, (_, i) => ({ ...base.traces[i % 2], customer: `c-${i}` })),
  };
}

export function captureIO(cwd = process.cwd()): CliIO & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out(t: string) {
      io.stdout += t;
    },
    err(t: string) {
      io.stderr += t;
    },
    cwd,
    env: {},
    isTTY: false,
  };
  return io;
}
