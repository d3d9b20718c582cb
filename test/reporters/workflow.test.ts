// The workflow users copy: parsed with `yaml`, its jobs and steps checked, and the sticky-comment script run
// against a fake GitHub API (update the comment carrying the marker, else create one).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PLAN_COMMENT_MARKER } from '../../src/cli/reporters/plan-markdown.js';
import { REPO_ROOT } from '../support/run-cli.js';

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
interface Job {
  if?: string;
  permissions?: Record<string, string>;
  steps: Step[];
}

const workflow = parse(readFileSync(path.join(REPO_ROOT, '.github/workflows/herald.yml'), 'utf8')) as {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
};

const runs = (job: Job): string => job.steps.map((s) => s.run ?? '').join('\n');
const uses = (job: Job, action: string): Step | undefined => job.steps.find((s) => s.uses?.startsWith(`${action}@`));

describe('.github/workflows/herald.yml', () => {
  it('runs on push and pull_request with read-only default permissions', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push']);
    expect(workflow.permissions).toEqual({ contents: 'read' });
  });

  it('validate on push: checkout, node 20, npm ci, validate --format github', () => {
    const job = workflow.jobs.validate;
    expect(job.if).toBe("github.event_name == 'push'");
    expect(job.steps.map((s) => s.uses?.split('@')[0] ?? s.run)).toEqual(['actions/checkout', 'actions/setup-node', 'npm ci', './bin/herald.js validate campaigns --format github']);
    expect(uses(job, 'actions/setup-node')?.with?.['node-version']).toBe(20);
  });

  it('plan on pull_request: full history, plan to markdown + json, exit 2 fine, 3 fails after posting', () => {
    const job = workflow.jobs.plan;
    expect(job.if).toBe("github.event_name == 'pull_request'");
    expect(job.permissions).toEqual({ contents: 'read', 'pull-requests': 'write' });
    expect(uses(job, 'actions/checkout')?.with?.['fetch-depth']).toBe(0);
    expect(uses(job, 'actions/setup-node')?.with?.['node-version']).toBe(20);
    expect(job.steps.some((s) => s.run === 'npm ci')).toBe(true);
    const plan = job.steps.find((s) => s.id === 'plan')!;
    expect(plan.env).toEqual({ BASE_REF: '${{ github.base_ref }}' });
    expect(plan.run).toContain('./bin/herald.js plan campaigns --base "origin/$BASE_REF" --format markdown --detailed-exitcode --out plan.json > plan.md');
    expect(plan.run).toMatch(/0\|2\|3\) ;;/);
    expect(runs(job)).toContain('./bin/herald.js show plan.json --format html > plan.html');
    expect(runs(job)).toContain('cat plan.md >> "$GITHUB_STEP_SUMMARY"');
    expect(String(uses(job, 'actions/upload-artifact')?.with?.path).split('\n').filter(Boolean)).toEqual(['plan.json', 'plan.html', 'plan.md']);
    const last = job.steps.at(-1)!;
    expect(last.if).toBe("steps.plan.outputs.exit_code == '3'");
    expect(last.run).toMatch(/exit 3/);
    // The comment is posted before the guard fails the job.
    const comment = job.steps.findIndex((s) => s.uses?.startsWith('actions/github-script@'));
    expect(comment).toBeGreaterThan(job.steps.indexOf(plan));
    expect(comment).toBeLessThan(job.steps.length - 1);
  });

  it.each([
    [0, 0],
    [2, 0],
    [3, 0],
    [1, 1],
    [70, 70],
  ])('the plan step, run by bash as the runner does, maps herald exit %i to step exit %i', (herald, step) => {
    const run = workflow.jobs.plan.steps.find((s) => s.id === 'plan')!.run!;
    const dir = mkdtempSync(path.join(tmpdir(), 'herald-wf-'));
    try {
      mkdirSync(path.join(dir, 'bin'));
      // A stand-in herald: prints its arguments as the plan and exits with the code under test.
      writeFileSync(path.join(dir, 'bin/herald.js'), `#!/bin/sh\necho "args: $*"\nexit ${herald}\n`);
      chmodSync(path.join(dir, 'bin/herald.js'), 0o755);
      writeFileSync(path.join(dir, 'step.sh'), run);
      const output = path.join(dir, 'output');
      writeFileSync(output, '');
      const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', 'step.sh'], { cwd: dir, env: { PATH: process.env.PATH, BASE_REF: 'main', GITHUB_OUTPUT: output }, encoding: 'utf8' });
      expect(r.status).toBe(step);
      expect(readFileSync(output, 'utf8')).toBe(`exit_code=${herald}\n`);
      expect(readFileSync(path.join(dir, 'plan.md'), 'utf8')).toBe('args: plan campaigns --base origin/main --format markdown --detailed-exitcode --out plan.json\n');
      if (step !== 0) expect(r.stdout).toContain(`::error title=herald plan::herald plan failed with exit code ${herald}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('sticky comment script', () => {
    const script = String(uses(workflow.jobs.plan, 'actions/github-script')?.with?.script);

    it('searches for the marker the markdown reporter writes', () => {
      expect(script).toContain(`const marker = '${PLAN_COMMENT_MARKER}';`);
    });

    type Comment = { id: number; body: string; user: { type: string } };
    async function runScript(existing: Comment[]): Promise<string[]> {
      const calls: string[] = [];
      const github = {
        rest: {
          issues: {
            listComments: 'listComments',
            updateComment: async (a: { comment_id: number; body: string }) => void calls.push(`update ${a.comment_id}: ${a.body}`),
            createComment: async (a: { issue_number: number; body: string }) => void calls.push(`create on #${a.issue_number}: ${a.body}`),
          },
        },
        paginate: async (fn: string, a: { issue_number: number; per_page: number }) => {
          expect(fn).toBe('listComments');
          expect(a).toMatchObject({ owner: 'acme', repo: 'shop', issue_number: 7 });
          return existing;
        },
      };
      const context = { repo: { owner: 'acme', repo: 'shop' }, issue: { number: 7 } };
      const fakeRequire = (m: string) => {
        expect(m).toBe('fs');
        return { readFileSync: (f: string) => (f === 'plan.md' ? `${PLAN_COMMENT_MARKER}\nnew plan` : '') };
      };
      const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;
      await new AsyncFunction('github', 'context', 'require', script)(github, context, fakeRequire);
      return calls;
    }

    it('updates the bot comment carrying the marker', async () => {
      const calls = await runScript([
        { id: 1, body: 'LGTM', user: { type: 'User' } },
        { id: 2, body: `quoting ${PLAN_COMMENT_MARKER}`, user: { type: 'User' } },
        { id: 3, body: `${PLAN_COMMENT_MARKER}\nold plan`, user: { type: 'Bot' } },
      ]);
      expect(calls).toEqual([`update 3: ${PLAN_COMMENT_MARKER}\nnew plan`]);
    });

    it('creates one when there is none', async () => {
      const calls = await runScript([{ id: 1, body: 'LGTM', user: { type: 'User' } }]);
      expect(calls).toEqual([`create on #7: ${PLAN_COMMENT_MARKER}\nnew plan`]);
    });
  });
});
