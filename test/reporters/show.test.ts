// `herald show` through commander, as main() would run it (show is registered in index.ts by the lead, so
// this builds its own program with only this command).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { allCodes } from '../../src/cli/codes-table.js';
import { parsePlanReport, registerShow, SHOW_CODES } from '../../src/cli/commands/show.js';
import { ExitCode, UserError } from '../../src/cli/exit-codes.js';
import type { CommandContext } from '../../src/cli/main.js';
import { planReporters, PLAN_FORMATS } from '../../src/cli/reporters/plan-reporters.js';
import { captureIO, EXAMPLE_PATH, loadExample } from './support.js';

const dir = mkdtempSync(path.join(tmpdir(), 'herald-show-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `herald show …` and maps failures the way main.ts does. */
async function show(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = { ...captureIO(dir), env };
  io.out = (t: string) => void (io.stdout += t);
  io.err = (t: string) => void (io.stderr += t);
  let exit: ExitCode = ExitCode.ok;
  const program = new Command().exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  const ctx: CommandContext = { io, setExit: (c) => void (exit = c), debug: () => false };
  registerShow(program, ctx);
  try {
    await program.parseAsync(['node', 'herald', 'show', ...args]);
  } catch (error) {
    if (error instanceof UserError) {
      io.err(`error[${error.code}]: ${error.message}\n`);
      exit = error.exitCode;
    } else if (error instanceof CommanderError) {
      exit = ExitCode.usage;
    } else throw error;
  }
  return { code: exit, stdout: io.stdout, stderr: io.stderr };
}

function save(name: string, content: string): string {
  writeFileSync(path.join(dir, name), content);
  return name;
}

describe('herald show', () => {
  it.each(PLAN_FORMATS)('renders a saved plan as %s, identical to rendering the report directly', async (format) => {
    const file = save('plan.json', planReporters.json(loadExample()));
    const r = await show([file, '--format', format]);
    expect(r).toEqual({ code: 0, stdout: planReporters[format](loadExample()), stderr: '' });
  });

  it('--format github appends the markdown to $GITHUB_STEP_SUMMARY when it is set', async () => {
    const summary = path.join(dir, 'step-summary.md');
    writeFileSync(summary, 'before\n');
    const r = await show([EXAMPLE_PATH, '--format', 'github'], { GITHUB_STEP_SUMMARY: summary });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(planReporters.github(loadExample()));
    expect(readFileSync(summary, 'utf8')).toBe(`before\n${planReporters.markdown(loadExample())}`);
  });

  it('defaults to text and takes an absolute path', async () => {
    const r = await show([EXAMPLE_PATH]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Plan: 4 changed objects (+1 ~2 -1); 1,314 messages, EUR 10.21');
  });

  it('HER1050 and exit 1 on a file that is not JSON', async () => {
    const r = await show([save('bad.json', '{"format_version": 1, "project": ')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error\[HER1050\]: bad\.json is not valid JSON: /);
  });

  it('HER1050 and exit 1 on a missing file', async () => {
    const r = await show(['nope.json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error[HER1050]: cannot read plan nope.json: no such file\n');
  });

  it('HER1051 and exit 1 on another format_version', async () => {
    const r = await show([save('v2.json', JSON.stringify({ ...loadExample(), format_version: 2 }))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error[HER1051]: v2.json has format_version 2; this herald reads format_version 1\n');
  });

  it('HER1052 names the field when the JSON is not a plan', async () => {
    const broken = loadExample() as unknown as { journeys: Array<{ steps: Array<Record<string, unknown>> }> };
    delete broken.journeys[1].steps[2].sent;
    const r = await show([save('broken.json', JSON.stringify(broken))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error[HER1052]: broken.json is not a Herald plan: journeys[1].steps[2].sent should be an object\n');
    expect(() => parsePlanReport('[1,2]', 'x.json')).toThrow(/HER1052|not a Herald plan/);
    expect(() => parsePlanReport('{"project":"x"}', 'x.json')).toThrow('x.json is not a Herald plan: format_version is missing');
    const noVersion = (() => {
      try {
        parsePlanReport('{"format_version":1}', 'x.json');
      } catch (e) {
        return e as UserError;
      }
    })();
    expect(noVersion?.code).toBe('HER1052');
    expect(noVersion?.message).toBe('x.json is not a Herald plan: project should be a string');
  });

  it('exit 64 on an unknown format', async () => {
    const r = await show([EXAMPLE_PATH, '--format', 'pdf']);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/invalid/);
  });

  it('codes are declared for the README table, in the HER1xxx range and unused elsewhere', () => {
    expect(SHOW_CODES.map((c) => c.code)).toEqual(['HER1050', 'HER1051', 'HER1052']);
    // Listed once in the table every README code comes from: no other module reuses them.
    const all = allCodes().map((c) => c.code);
    for (const c of SHOW_CODES) expect(all.filter((x) => x === c.code), c.code).toHaveLength(1);
    const fixture = readFileSync(EXAMPLE_PATH, 'utf8');
    expect(parsePlanReport(fixture, 'example.json')).toEqual(JSON.parse(fixture));
  });
});
