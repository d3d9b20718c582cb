import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

// CLI tests run the real binary, which runs the compiled dist/; build it once per test run
// (incremental, so an unchanged tree costs about a second). Type errors are reported by
// `npm run typecheck` (run by .ci/run); tsc still emits, so they do not stop the tests here.
export default function setup(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const result = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (result.status !== 0 && process.env.HERALD_TEST_VERBOSE_BUILD) process.stderr.write(result.stdout);
}
