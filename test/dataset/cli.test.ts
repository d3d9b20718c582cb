// The two dataset commands, registered on a fresh program (the lead wires them into the CLI registry).
import { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { register as registerImport } from '../../src/cli/commands/data-import.js';
import { register as registerSample } from '../../src/cli/commands/sample.js';
import { ExitCode, UserError } from '../../src/cli/exit-codes.js';
import type { CliIO } from '../../src/cli/io.js';
import type { RegisterCommand } from '../../src/cli/main.js';
import { tempDir } from './helpers.js';

async function run(register: RegisterCommand, args: string[], cwd = process.cwd()) {
  const io = { stdout: '', stderr: '', out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t), cwd, env: {}, isTTY: false };
  let exit: number = ExitCode.ok;
  const program = new Command().exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  register(program, { io: io as CliIO, setExit: (c) => void (exit = c), debug: () => false });
  try {
    await program.parseAsync(['node', 'herald', ...args]);
  } catch (error) {
    if (error instanceof UserError) {
      io.err(`error[${error.code}]: ${error.message}\n`);
      exit = error.exitCode;
    } else exit = ExitCode.usage;
  }
  return { ...io, exit };
}

describe('herald sample generate', () => {
  it('writes the three files and a summary; the same seed twice gives the same bytes', async () => {
    const cwd = tempDir();
    const a = await run(registerSample, ['sample', 'generate', '--customers', '150', '--seed', '3', '--out', 'a'], cwd);
    const b = await run(registerSample, ['sample', 'generate', '--customers', '150', '--seed', '3', '--out', 'b'], cwd);
    expect(a.exit).toBe(0);
    expect(a.stdout).toMatch(/^Generated 150 customers, [\d,]+ events, 200 products in a\n/);
    for (const f of ['customers.csv', 'events.csv', 'products.csv']) {
      expect(readFileSync(path.join(cwd, 'a', f)).equals(readFileSync(path.join(cwd, 'b', f)))).toBe(true);
    }
    expect(b.stdout.replace(/\bb\b/g, 'a')).toBe(a.stdout);
  });

  it('rejects bad options with HER5200 and exit 64', async () => {
    for (const args of [['--customers', '0'], ['--customers', 'ten'], ['--customers', '5', '--seed', '-1'], ['--customers', '5', '--end', 'soon']]) {
      const r = await run(registerSample, ['sample', 'generate', ...args, '--out', tempDir()]);
      expect(r.exit, args.join(' ')).toBe(64);
      expect(r.stderr).toMatch(/error\[HER5200\]/);
    }
  });
});

describe('herald data import', () => {
  it('imports CDNOW through its mapping and prints the counts', async () => {
    const out = tempDir();
    const r = await run(registerImport, ['data', 'import', '--mapping', 'mappings/cdnow-sample.yaml', '--out', out]);
    expect(r.exit).toBe(0);
    expect(r.stdout).toContain('rows read: 6,919');
    expect(r.stdout).toContain('customers: 2,357, events: 6,919');
    const json = await run(registerImport, ['data', 'import', '--mapping', 'mappings/cdnow-sample.yaml', '--out', out, '--format', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, rows: 6919, customers: 2357 });
  });

  it('a broken mapping is reported with file:line:column and exit 1', async () => {
    const dir = tempDir();
    const mapping = path.join(dir, 'm.yaml');
    writeFileSync(mapping, 'apiVersion: herald/v1\nkind: ImportMapping\nspec:\n  source: { file: x.csv, format: xml }\n  customer: { id: id }\n  event: { type: purchase, ts: { column: ts } }\n');
    const r = await run(registerImport, ['data', 'import', '--mapping', mapping, '--out', dir], dir);
    expect(r.exit).toBe(1);
    expect(r.stderr).toContain('m.yaml:4:34: error[HER5100]: source.format must be csv or whitespace');
  });

  it('a missing source and unparsable rows are reported; --strict fails on the latter', async () => {
    const dir = tempDir();
    const mapping = path.join(dir, 'm.yaml');
    writeFileSync(path.join(dir, 'tx.csv'), 'cust,day,value\n1,2026-01-01,3\n2,someday,4\n3,2026-01-02,x\n');
    writeFileSync(mapping, 'kind: ImportMapping\nspec:\n  source: { file: tx.csv, timezone: UTC }\n  customer: { id: cust }\n  event:\n    type: purchase\n    ts: { column: day }\n    props: { amount: { column: value, type: number } }\n');
    const loose = await run(registerImport, ['data', 'import', '--mapping', mapping, '--out', path.join(dir, 'out')], dir);
    expect(loose.exit).toBe(0);
    expect(loose.stderr).toContain('tx.csv:3: warning[HER5103]: unparsable day "someday"');
    expect(loose.stderr).toContain('tx.csv:4: warning[HER5103]: unparsable number in value');
    expect(loose.stdout).toContain('customers: 1, events: 1');
    const strict = await run(registerImport, ['data', 'import', '--mapping', mapping, '--out', path.join(dir, 'out'), '--strict'], dir);
    expect(strict.exit).toBe(1);
    const missing = await run(registerImport, ['data', 'import', '--mapping', mapping, '--source', 'nope.csv', '--out', path.join(dir, 'out')], dir);
    expect(missing.exit).toBe(1);
    expect(missing.stderr).toMatch(/error\[HER5101\]: cannot read source/);
  });
});
