// `npm run bench`: runs every bench/*.bench.ts in name order (or those named on the command line).
// Each module exports `run(): Promise<void>` and prints its own figures with their ratios and goals.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
// A bench that runs parts of itself in child processes (engine.bench.ts, a backend each) sets
// HERALD_BENCH_CHILD for them: the header was printed once, by the parent.
for (const file of files) {
  if (!process.env.HERALD_BENCH_CHILD) console.log(`\n== ${file}`);
  const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as { run(): Promise<void> };
  await mod.run();
}
