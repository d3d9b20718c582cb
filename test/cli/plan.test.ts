// `herald plan` as a reviewer's CI runs it: a git repository with the example project and a dataset, a
// change on a branch, the plan against the base; determinism, masking, exit codes, show.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { smallShop, writeDataset } from '../support/plan-dataset.js';
import { REPO_ROOT, runCli } from '../support/run-cli.js';

const NOW_FLAG = ['--now', '2026-06-01T08:00:00Z'];
let repo: string;

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' } });
}

beforeAll(() => {
  repo = mkdtempSync(path.join(os.tmpdir(), 'herald-repo-'));
  cpSync(path.join(REPO_ROOT, 'campaigns'), path.join(repo, 'campaigns'), { recursive: true });
  mkdirSync(path.join(repo, 'samples', 'demo-shop'), { recursive: true });
  writeDataset(path.join(repo, 'samples', 'demo-shop'), smallShop());
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-qm', 'base');
  git('checkout', '-q', '-b', 'change');
  // The change under review: frequent buyers from 4 purchases, a new segment, a removed journey.
  const segments = path.join(repo, 'campaigns', 'segments.yaml');
  writeFileSync(segments, readFileSync(segments, 'utf8').replace('count(purchase, within: 30d) >= 5', 'count(purchase, within: 30d) >= 4') + `---
apiVersion: herald/v1
kind: Segment
metadata: { name: big-basket }
spec:
  where: >
    max(purchase.amount, within: 365d) > 80
`);
  const loyalty = path.join(repo, 'campaigns', 'journeys', 'loyalty.yaml');
  writeFileSync(loyalty, readFileSync(loyalty, 'utf8').split('---\n')[0]);
  git('commit', '-qam', 'change');
});

describe('herald plan', () => {
  it('diffs against the base branch and reports audiences, funnels and money', () => {
    const run = runCli(['plan', 'campaigns', '--base', 'main', '--format', 'json', ...NOW_FLAG], { cwd: repo });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const plan = JSON.parse(run.stdout);
    expect(plan.format_version).toBe(1);
    expect(plan.configDiff.map((c: { change: string; kind: string; name: string }) => `${c.change} ${c.kind} ${c.name}`)).toEqual([
      '+ Segment big-basket',
      '~ Segment frequent-buyers',
      '- Journey loyalty-vip',
    ]);
    const removed = plan.configDiff.find((c: { change: string }) => c.change === '-');
    expect(removed.file).toBe('campaigns/journeys/loyalty.yaml');
    const frequent = plan.segments.find((s: { name: string }) => s.name === 'frequent-buyers');
    expect(frequent.size).toBeGreaterThanOrEqual(frequent.baseSize);
    const bigBasket = plan.segments.find((s: { name: string }) => s.name === 'big-basket');
    expect(bigBasket.baseSize).toBeNull();
    expect(plan.summary.cost).toBeCloseTo(plan.channels.reduce((a: number, c: { cost: number }) => a + c.cost, 0), 6);
    const winback = plan.journeys.find((j: { name: string }) => j.name === 'lapsed-loyal-winback');
    expect(winback.steps[0].sent.sms).toBeGreaterThan(0);
  });

  it('--detailed-exitcode exits 2 when the configuration changed', () => {
    const run = runCli(['plan', 'campaigns', '--base', 'main', '--detailed-exitcode', ...NOW_FLAG], { cwd: repo });
    expect(run.code).toBe(2);
    const same = runCli(['plan', 'campaigns', '--base', 'HEAD', '--detailed-exitcode', ...NOW_FLAG], { cwd: repo });
    expect(same.code).toBe(0);
  });

  it('the same inputs give byte-identical output in every format', () => {
    for (const format of ['json', 'markdown', 'html']) {
      const a = runCli(['plan', 'campaigns', '--base', 'main', '--format', format, ...NOW_FLAG], { cwd: repo });
      const b = runCli(['plan', 'campaigns', '--base', 'main', '--format', format, ...NOW_FLAG], { cwd: repo });
      expect(a.code).toBe(0);
      expect(a.stdout).toBe(b.stdout);
    }
  });

  it('masks every email and phone in markdown and json unless --unmask', () => {
    for (const format of ['json', 'markdown']) {
      const out = runCli(['plan', 'campaigns', '--base', 'main', '--format', format, ...NOW_FLAG], { cwd: repo }).stdout;
      expect(out).not.toMatch(/[A-Za-z0-9._-]{2,}@example\.com/);
      expect(out).not.toMatch(/\+49\d{8,}/);
      expect(out).toMatch(/@e(\\\*|\*){3}/);
    }
    const unmasked = runCli(['plan', 'campaigns', '--no-base', '--format', 'json', '--unmask', ...NOW_FLAG], { cwd: repo }).stdout;
    expect(unmasked).toMatch(/@example\.com/);
  });

  it('a markdown PR comment starts with the sticky marker and stays under the limit', () => {
    const out = runCli(['plan', 'campaigns', '--base', 'main', '--format', 'markdown', ...NOW_FLAG], { cwd: repo }).stdout;
    expect(out.startsWith('<!-- herald-plan -->')).toBe(true);
    expect(out.length).toBeLessThan(60_000);
  });

  it('a tripped guard exits 3; --out writes the plan for `herald show`', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-guard-'));
    cpSync(path.join(repo, 'campaigns'), path.join(dir, 'campaigns'), { recursive: true });
    cpSync(path.join(repo, 'samples'), path.join(dir, 'samples'), { recursive: true });
    const project = path.join(dir, 'campaigns', 'herald.yaml');
    writeFileSync(project, readFileSync(project, 'utf8').replace('{ metric: cost.total, warn_above: 50, error_above: 200 }', '{ metric: cost.total, error_above: 0.01 }'));
    const run = runCli(['plan', 'campaigns', '--no-base', '--out', 'plan.json', ...NOW_FLAG], { cwd: dir });
    expect(run.code).toBe(3);
    const shown = runCli(['show', 'plan.json', '--format', 'text'], { cwd: dir });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('cost.total');
  });

  it('explain says why a customer got the SMS and what fell through', () => {
    const run = runCli(['explain', 'smsonly', 'campaigns', '--journey', 'lapsed-loyal-winback', ...NOW_FLAG], { cwd: repo });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('segment lapsed-loyal: member');
    expect(run.stdout).toMatch(/✓ count\(purchase, within: 365d\) >= 5/);
    expect(run.stdout).toContain('suppressed push: no_consent');
    expect(run.stdout).toContain('suppressed email: no_address');
    expect(run.stdout).toMatch(/sent sms 'winback' via sms/);
    expect(run.stdout).not.toContain('smsonly@example.com');
  });

  it('preview renders a step for one customer', () => {
    const run = runCli(['preview', 'browse-abandonment/email', 'campaigns', '--customer', 'viewer'], { cwd: repo });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Subject: Still thinking it over?');
    expect(run.stdout).toContain('Chef knife');
    expect(run.stdout).toContain('https://shop.example/u/viewer');
  });

  it('bad flags are usage errors; a missing dataset is a clear error', () => {
    expect(runCli(['plan', 'campaigns', '--horizon', 'forever', '--no-base'], { cwd: repo }).code).toBe(64);
    const missing = runCli(['plan', 'campaigns', '--no-base', '--data', 'nowhere'], { cwd: repo });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('HER5001');
  });
});
