// Dependencies point inward (DESIGN §3): cli → plan | engine → core → config → expr | templates →
// diagnostics. This test reads every import in src/ and fails on one that points outward.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/run-cli.js';

const SRC = path.join(REPO_ROOT, 'src');

/** Which top-level modules each module may import (besides itself). */
const ALLOWED: Record<string, string[]> = {
  diagnostics: [],
  model: ['diagnostics'],
  expr: ['diagnostics', 'model'],
  templates: ['diagnostics', 'model'],
  config: ['diagnostics', 'model', 'expr', 'templates'],
  dataset: ['diagnostics', 'model', 'expr', 'analytics'],
  analytics: ['diagnostics', 'model', 'dataset'],
  core: ['diagnostics', 'model', 'expr', 'config'],
  channels: ['diagnostics', 'model', 'config', 'templates'],
  plan: ['diagnostics', 'model', 'expr', 'templates', 'config', 'core', 'dataset', 'analytics'],
  engine: ['diagnostics', 'model', 'expr', 'templates', 'config', 'core', 'channels', 'dataset', 'analytics'],
  cli: ['diagnostics', 'model', 'expr', 'templates', 'config', 'core', 'dataset', 'analytics', 'plan', 'engine', 'channels'],
};

/** The pure modules: no IO, no clock (DESIGN §8: no wall clock or Math.random in core, plan, analytics). */
const PURE = ['core', 'expr', 'analytics'];
/** No wall clock and no Math.random here either: the plan must be reproducible byte for byte. */
const CLOCK_FREE = [...PURE, 'plan', 'templates', 'config', 'dataset'];
const IO_MODULES = /^(node:)?(fs|http|https|net|child_process|dgram|worker_threads)$|^(pg|knex|fastify|nodemailer|web-push)$/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const full = path.join(dir, n);
    return statSync(full).isDirectory() ? files(full) : full.endsWith('.ts') ? [full] : [];
  });
}

describe('architecture', () => {
  const all = files(SRC);

  it('every import points inward', () => {
    const violations: string[] = [];
    for (const file of all) {
      const from = path.relative(SRC, file).split(path.sep)[0];
      const allowed = ALLOWED[from];
      if (!allowed) {
        violations.push(`${path.relative(REPO_ROOT, file)}: module '${from}' is not in the dependency table`);
        continue;
      }
      for (const m of readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)[^'"]*from\s+'(\.[^']+)'/gm)) {
        const target = path.relative(SRC, path.resolve(path.dirname(file), m[1])).split(path.sep)[0];
        if (target !== from && !allowed.includes(target)) violations.push(`${path.relative(REPO_ROOT, file)} imports ${m[1]} (${from} → ${target})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('the pure modules touch no IO, no wall clock and no Math.random', () => {
    const violations: string[] = [];
    for (const file of all) {
      const from = path.relative(SRC, file).split(path.sep)[0];
      if (!CLOCK_FREE.includes(from)) continue;
      const text = readFileSync(file, 'utf8');
      if (PURE.includes(from)) {
        for (const m of text.matchAll(/^\s*import[^'"]*from\s+'([^'.][^']*)'/gm)) if (IO_MODULES.test(m[1])) violations.push(`${path.relative(REPO_ROOT, file)} imports ${m[1]}`);
      }
      const code = text.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
      if (/\bDate\.now\(|\bnew Date\(\)|Math\.random\(|performance\.now\(/.test(code)) violations.push(`${path.relative(REPO_ROOT, file)} reads the clock or Math.random`);
    }
    expect(violations).toEqual([]);
  });
});
