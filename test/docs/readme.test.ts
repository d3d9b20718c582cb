// The README's generated parts and promises stay true: the codes table is current, every code the
// source emits is documented, and the opening shows the set-up/run and test commands.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allCodes, renderCodesTable } from '../../src/cli/codes-table.js';
import { REPO_ROOT } from '../support/run-cli.js';

const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : full.endsWith('.ts') ? [full] : [];
  });
}

describe('README', () => {
  it('opens with the set-up + main job command and the test command', () => {
    const opening = readme.split('\n').slice(0, 12).join('\n');
    expect(opening).toMatch(/npm ci && npm run herald -- (plan|validate) campaigns/);
    expect(opening).toMatch(/^npm test/m);
  });

  it('has the current diagnostics table (run `npm run docs` after adding a code)', () => {
    const between = readme.split('<!-- codes:begin -->')[1]?.split('<!-- codes:end -->')[0];
    expect(between?.trim()).toBe(renderCodesTable().trim());
  });

  it('documents every HERxxxx code the source emits', () => {
    const known = new Set(allCodes().map((c) => c.code));
    const used = new Set<string>();
    for (const file of sourceFiles(path.join(REPO_ROOT, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/'(HER\d{4})'/g)) used.add(m[1]);
    }
    const missing = [...used].filter((c) => !known.has(c)).sort();
    expect(missing).toEqual([]);
  });
});

describe('diagnostic codes', () => {
  it('are unique across all modules', () => {
    const codes = allCodes().map((c) => c.code);
    expect(codes.filter((c, i) => codes.indexOf(c) !== i)).toEqual([]);
  });
});
