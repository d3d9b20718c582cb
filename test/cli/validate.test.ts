import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject } from '../support/project-fixture.js';
import { REPO_ROOT, runCli } from '../support/run-cli.js';

describe('herald validate', () => {
  it('accepts the example project', () => {
    const run = runCli(['validate', 'campaigns']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/✓ \d+ files valid/);
  });

  it('prints code, position, source excerpt, caret and hint; exits 1; no stack trace', () => {
    const dir = makeProject({
      's.yaml': 'apiVersion: herald/v1\nkind: Segment\nmetadata: { name: s }\nspec:\n  where: first_nam == "x"\n',
    });
    const run = runCli(['validate', '.'], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('error[HER2004]');
    expect(run.stderr).toContain('--> s.yaml:5:10');
    expect(run.stderr).toContain('5 |   where: first_nam == "x"');
    expect(run.stderr).toMatch(/\|\s{10}\^{9}\n/);
    expect(run.stderr).toMatch(/hint: did you mean 'first_name'\?/);
    expect(run.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
  });

  it('--format github emits workflow annotations', () => {
    const dir = makeProject({ 's.yaml': 'apiVersion: herald/v1\nkind: Segment\nmetadata: { name: s }\nspec:\n  where: "\\"a\\" > 3"\n' });
    const run = runCli(['validate', '.', '--format', 'github'], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^::error file=s\.yaml,line=5,col=\d+,endLine=5,endColumn=\d+,title=HER2008::/m);
  });

  it('--format json carries format_version and every diagnostic', () => {
    const dir = makeProject({ 'p.yaml': 'apiVersion: herald/v1\nkind: Policy\nmetadata: { name: p }\nspec: { on_cap: explode }\n' });
    const run = runCli(['validate', '.', '--format', 'json'], { cwd: dir });
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.format_version).toBe(1);
    expect(report.valid).toBe(false);
    expect(report.diagnostics[0]).toMatchObject({ code: 'HER1023', file: 'p.yaml', line: 4 });
  });

  it('--strict turns warnings into a failure', () => {
    // A comparison with null is a warning (always null), so the project is valid but not strict-clean.
    const dir = makeProject({ 's.yaml': 'apiVersion: herald/v1\nkind: Segment\nmetadata: { name: s }\nspec:\n  where: email == null\n' });
    const lax = runCli(['validate', '.'], { cwd: dir });
    expect(lax.code).toBe(0);
    const strict = runCli(['validate', '.', '--strict'], { cwd: dir });
    expect(strict.code).toBe(1);
  });

  it('a missing path is a clear error, exit 1', () => {
    const run = runCli(['validate', 'no/such/dir']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('error[HER1006]');
  });

  it('an unknown option is a usage error (64)', () => {
    const run = runCli(['validate', '--frobnicate']);
    expect(run.code).toBe(64);
  });
});

describe('herald fmt', () => {
  function copyCampaigns(): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-fmt-'));
    cpSync(path.join(REPO_ROOT, 'campaigns'), path.join(dir, 'campaigns'), { recursive: true });
    cpSync(path.join(REPO_ROOT, 'schema'), path.join(dir, 'schema'), { recursive: true });
    return dir;
  }

  it('the example project is already formatted', () => {
    const run = runCli(['fmt', '--check', 'campaigns']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('reorders keys canonically, keeps comments, and is idempotent', () => {
    const dir = copyCampaigns();
    const file = path.join(dir, 'campaigns', 'messy.yaml');
    writeFileSync(
      file,
      `# a comment at the top
spec:
  steps:
    - send: { template: hello, channel: email } # inline comment
      id: hello
  entry: { event: signup }
metadata: { name: messy }
kind: Journey
apiVersion: herald/v1
`,
    );
    const check = runCli(['fmt', '--check', 'campaigns/messy.yaml'], { cwd: dir });
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('HER1040');
    const fmt = runCli(['fmt', 'campaigns/messy.yaml'], { cwd: dir });
    expect(fmt.code).toBe(0);
    const once = readFileSync(file, 'utf8');
    expect(once).toBe(`# a comment at the top
apiVersion: herald/v1
kind: Journey
metadata: { name: messy }
spec:
  entry: { event: signup }
  steps:
    - id: hello
      send: { channel: email, template: hello } # inline comment
`);
    runCli(['fmt', 'campaigns/messy.yaml'], { cwd: dir });
    expect(readFileSync(file, 'utf8')).toBe(once);
  });

  it('leaves a file with YAML errors untouched and says why', () => {
    const dir = copyCampaigns();
    const file = path.join(dir, 'campaigns', 'broken.yaml');
    writeFileSync(file, 'a:\n\tb: 1\n');
    const run = runCli(['fmt', 'campaigns/broken.yaml'], { cwd: dir });
    expect(run.code).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe('a:\n\tb: 1\n');
  });
});
