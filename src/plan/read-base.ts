// The base side of a plan: the same configuration files as they are at a git ref (default: the merge
// base with the default branch), copied into a temporary directory so the normal loader reads them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class GitError extends Error {}

function git(args: string[], cwd: string): string {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new GitError(stderr || (error as Error).message);
  }
}

export function repoRoot(cwd: string): string | undefined {
  try {
    return git(['rev-parse', '--show-toplevel'], cwd).trim();
  } catch {
    return undefined;
  }
}

/** The merge base of HEAD with the default branch (origin's HEAD, else main, else master). */
export function defaultBase(cwd: string): string | undefined {
  const candidates: string[] = [];
  try {
    candidates.push(git(['symbolic-ref', '--quiet', 'refs/remotes/origin/HEAD'], cwd).trim());
  } catch {
    /* no remote HEAD */
  }
  candidates.push('origin/main', 'origin/master', 'main', 'master');
  for (const ref of candidates) {
    try {
      git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], cwd);
      return git(['merge-base', 'HEAD', ref], cwd).trim();
    } catch {
      /* try the next */
    }
  }
  return undefined;
}

export interface BaseCheckout {
  ref: string;
  commit: string;
  /** Where the base files were written; the config path inside it mirrors the head's. */
  dir: string;
  configPath: string;
  /** The path did not exist at the base: everything in head is new. */
  missing: boolean;
}

/** Writes the files under `configDir` (absolute) as of `ref` into a temp dir. */
export function checkoutBase(ref: string, configDir: string, cwd: string): BaseCheckout {
  const root = repoRoot(cwd);
  if (!root) throw new GitError('not inside a git repository, so there is no base to compare with');
  const commit = git(['rev-parse', '--verify', `${ref}^{commit}`], root).trim();
  const rel = path.relative(root, configDir).split(path.sep).join('/');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-base-'));
  const listing = git(['ls-tree', '-r', '-z', '--name-only', commit, '--', rel || '.'], root);
  const files = listing.split('\0').filter(Boolean);
  for (const file of files) {
    const content = execFileSync('git', ['show', `${commit}:${file}`], { cwd: root, maxBuffer: 256 * 1024 * 1024 });
    const target = path.join(dir, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  return { ref, commit, dir, configPath: path.join(dir, rel), missing: files.length === 0 };
}
