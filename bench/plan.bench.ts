// The plan of the example project over generated shops of 100k customers (~2M events) and 1M (~20M):
// wall time, peak memory, and the ratio to the data layer's anchors (load + one aggregate pass over every
// input the project's expressions read). Goals: ≤ 1 s at 100k, ≤ 8 s at 1M, ≤ 2 GB peak.
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProject } from '../src/config/build-project.js';
import type { Project } from '../src/config/model.js';
import { computeInputs } from '../src/dataset/compute-inputs.js';
import { generateSample } from '../src/dataset/generate-sample.js';
import { loadDataset } from '../src/dataset/load-dataset.js';
import type { InputSpec } from '../src/model/inputs.js';
import { derivedProvider } from '../src/plan/derived-inputs.js';
import { simulate } from '../src/plan/simulate.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function projectInputs(project: Project): InputSpec[] {
  const out = new Map<string, InputSpec>();
  for (const s of project.segments.values()) for (const i of s.where.inputs) out.set(i.key, i);
  return [...out.values()];
}

function peakTracker() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}

async function one(customers: number, goalMs: number, project: Project): Promise<void> {
  const dir = path.join(os.tmpdir(), `herald-bench-shop-${customers}`);
  if (!existsSync(path.join(dir, 'events.csv'))) {
    mkdirSync(dir, { recursive: true });
    const t = performance.now();
    generateSample(dir, { customers, seed: 7 });
    console.log(`  generated ${customers.toLocaleString('en')} customers in ${((performance.now() - t) / 1000).toFixed(1)} s (cached in ${dir})`);
  }
  // The plan reads datasets through the binary cache (.herald/cache); warm it outside the timing.
  const cacheDir = path.join(os.tmpdir(), 'herald-bench-cache');
  loadDataset(dir, project.model, { cacheDir });
  const peak = peakTracker();
  const t0 = performance.now();
  const loaded = loadDataset(dir, project.model, { cacheDir });
  const t1 = performance.now();
  const dataset = loaded.dataset!;
  const now = dataset.timeRange!.last - project.settings.plan.horizonMs;
  const t2 = performance.now();
  computeInputs(dataset, projectInputs(project), now);
  const t3 = performance.now();
  const derived = derivedProvider(project, dataset, now);
  const result = simulate(project, dataset, { now, horizonMs: project.settings.plan.horizonMs, seed: 42, derived });
  const t4 = performance.now();
  const rss = peak.stop();
  const load = t1 - t0;
  const anchor = load + (t3 - t2);
  const plan = load + (t4 - t3);
  console.log(
    `  ${customers.toLocaleString('en')} customers, ${dataset.eventCount.toLocaleString('en')} events: ` +
      `load (cached) ${load.toFixed(0)} ms, aggregates ${(t3 - t2).toFixed(0)} ms, simulate ${(t4 - t3).toFixed(0)} ms → ` +
      `plan ${(plan / 1000).toFixed(2)} s (goal ≤ ${goalMs / 1000} s: ${plan <= goalMs ? 'met' : 'NOT met'}), ` +
      `ratio to load+aggregates ${(plan / anchor).toFixed(2)}×, peak RSS ${(rss / 2 ** 30).toFixed(2)} GB (goal ≤ 2 GB), ` +
      `${result.messages.toLocaleString('en')} messages`,
  );
}

export async function run(): Promise<void> {
  const project = loadProject([path.join(ROOT, 'campaigns')], { cwd: ROOT }).project!;
  await one(100_000, 1_000, project);
  if (process.env.HERALD_BENCH_LARGE !== '0') await one(1_000_000, 8_000, project);
}
