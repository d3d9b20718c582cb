// `herald apply`, `herald rollback --to` and `herald status`: configuration versions in the engine's store
// (DESIGN §6). Engine failures become UserErrors here, so main.ts maps them to exit codes in one place:
// conflict → 4, database unavailable → 5.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Option } from 'commander';
import { loadProject } from '../../config/build-project.js';
import type { Project } from '../../config/model.js';
import {
  applyConfig,
  collectConfigFiles,
  configVersionId,
  ConfigInvalidError,
  DEFAULT_DATA_DIR,
  ENGINE_CODE,
  EngineError,
  openStore,
  rollback,
  short,
  status,
  type ActivationResult,
  type AttemptCounts,
  type EngineStatus,
  type OpenedStore,
} from '../../engine/index.js';
import { ExitCode, UserError } from '../exit-codes.js';
import type { CommandContext, RegisterCommand } from '../main.js';
import { diagnosticsReporters } from '../reporters/diagnostics.js';

export interface StoreFlags {
  databaseUrl?: string;
  dataDir?: string;
}

type Format = 'text' | 'json';

export const registerApply: RegisterCommand = (program, ctx) => {
  withStoreOptions(
    program
      .command('apply')
      .description('store the configuration as an immutable, content-addressed version and activate it')
      .argument('[paths...]', 'configuration files or directories', ['campaigns'])
      .option('-m, --message <text>', 'why: recorded in the audit row')
      .option('--expect-active <version>', "refuse unless this version is active (the plan's base); 'none' when nothing should be")
      .option('--who <name>', 'who applies (default: $HERALD_WHO, git user.email, or the OS user)')
      .option('--git-sha <sha>', 'commit the files come from (default: $GITHUB_SHA or git rev-parse HEAD)')
      .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text')),
  ).action(async (paths: string[], flags: StoreFlags & { message?: string; expectActive?: string; who?: string; gitSha?: string; format: Format }) => {
    const project = loadOrReport(paths, ctx);
    if (!project) return;
    const files = collectConfigFiles(project);
    const result = await withStore(flags, ctx, { mustExist: false }, (store) =>
      applyConfig(store, files, {
        who: whoAmI(flags.who, ctx),
        gitSha: flags.gitSha ?? ctx.io.env.GITHUB_SHA ?? gitHead(ctx.io.cwd),
        message: flags.message,
        expectedActive: flags.expectActive === undefined ? undefined : flags.expectActive === 'none' ? null : flags.expectActive,
        project,
      }),
    );
    printActivation(result, flags.format, ctx, files.length);
    ctx.setExit(ExitCode.ok);
  });
};

export const registerRollback: RegisterCommand = (program, ctx) => {
  withStoreOptions(
    program
      .command('rollback')
      .description('reactivate a stored configuration version (runs in flight keep theirs)')
      .requiredOption('--to <version>', 'version id, or a unique prefix of at least 7 hex digits')
      .option('-m, --message <text>', 'why: recorded in the audit row')
      .option('--expect-active <version>', "refuse unless this version is active; 'none' when nothing should be")
      .option('--who <name>', 'who rolls back (default: $HERALD_WHO, git user.email, or the OS user)')
      .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text')),
  ).action(async (flags: StoreFlags & { to: string; message?: string; expectActive?: string; who?: string; format: Format }) => {
    const result = await withStore(flags, ctx, { mustExist: true }, (store) =>
      rollback(store, flags.to, whoAmI(flags.who, ctx), {
        message: flags.message,
        expectedActive: flags.expectActive === undefined ? undefined : flags.expectActive === 'none' ? null : flags.expectActive,
      }),
    );
    printActivation(result, flags.format, ctx);
    ctx.setExit(ExitCode.ok);
  });
};

export const registerStatus: RegisterCommand = (program, ctx) => {
  withStoreOptions(
    program
      .command('status')
      .description('the active configuration version, drift against the files, stored versions, queues and channel health')
      .argument('[paths...]', 'configuration files or directories to compare with the active version', ['campaigns'])
      .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text')),
  ).action(async (paths: string[], flags: StoreFlags & { format: Format }) => {
    const s = await withStore(flags, ctx, { mustExist: true }, (store) => status(store));
    const drift = localDrift(paths, ctx, s.active?.version ?? null);
    if (flags.format === 'json') {
      ctx.io.out(`${JSON.stringify({ ...s, drift }, null, 2)}\n`);
    } else {
      ctx.io.out(renderStatus(s, drift));
    }
    ctx.setExit(ExitCode.ok);
  });
};

/** --database-url and --data-dir, shared by apply, rollback, status and engine start. */
export function withStoreOptions<T extends { option(flags: string, description: string): T }>(command: T): T {
  return command
    .option('--database-url <url>', 'PostgreSQL URL (default: $DATABASE_URL; without one, the embedded database)')
    .option('--data-dir <dir>', `embedded (PGlite) database directory (default: ${DEFAULT_DATA_DIR})`);
}

/**
 * Opens the store, runs `fn`, closes the store; engine errors become UserErrors with their exit code.
 * `mustExist`: for commands that only read or reactivate, a missing embedded database is an error rather
 * than a reason to create one.
 */
export async function withStore<T>(flags: StoreFlags, ctx: CommandContext, options: { mustExist: boolean }, fn: (store: OpenedStore) => Promise<T>): Promise<T> {
  const store = await openCliStore(flags, ctx, options);
  try {
    return await fn(store).catch((error: unknown) => {
      throw toUserError(error, ctx);
    });
  } finally {
    await store.close();
  }
}

export async function openCliStore(flags: StoreFlags, ctx: CommandContext, options: { mustExist: boolean }): Promise<OpenedStore> {
  const databaseUrl = flags.databaseUrl ?? (ctx.io.env.DATABASE_URL || undefined);
  if (!databaseUrl && options.mustExist) {
    const dir = path.resolve(ctx.io.cwd, flags.dataDir ?? DEFAULT_DATA_DIR);
    if (!existsSync(dir)) {
      throw new UserError(ENGINE_CODE.databaseUnavailable, `no embedded database at ${path.relative(ctx.io.cwd, dir) || dir}`, ExitCode.unavailable, 'run herald apply first, or pass --database-url / set DATABASE_URL');
    }
  }
  try {
    return await openStore({ databaseUrl, dataDir: flags.dataDir, cwd: ctx.io.cwd });
  } catch (error) {
    throw toUserError(error, ctx);
  }
}

/** EngineError → UserError with the exit code of its kind; a ConfigInvalidError prints its diagnostics. */
export function toUserError(error: unknown, ctx: CommandContext): unknown {
  if (error instanceof ConfigInvalidError) {
    ctx.io.err(diagnosticsReporters.text({ diagnostics: error.diagnostics, files: 0, cwd: ctx.io.cwd, strict: false }));
  }
  if (!(error instanceof EngineError)) return error;
  const exitCode = error.kind === 'conflict' ? ExitCode.conflict : error.kind === 'unavailable' ? ExitCode.unavailable : ExitCode.invalid;
  return new UserError(error.code, error.message, exitCode, error.hint);
}

/** Loads the project; on errors prints them and sets exit 1 (the validate command's output). */
export function loadOrReport(paths: string[], ctx: CommandContext): Project | undefined {
  const result = loadProject(paths, { cwd: ctx.io.cwd });
  const problems = result.diagnostics.filter((d) => d.severity === 'error' || !result.project);
  if (!result.project || problems.length) {
    ctx.io.err(diagnosticsReporters.text({ diagnostics: result.diagnostics, files: result.fileCount, cwd: ctx.io.cwd, strict: false }));
    ctx.setExit(ExitCode.invalid);
    return undefined;
  }
  const warnings = result.diagnostics.filter((d) => d.severity === 'warning');
  if (warnings.length) ctx.io.err(diagnosticsReporters.text({ diagnostics: warnings, files: result.fileCount, cwd: ctx.io.cwd, strict: false }));
  return result.project;
}

function printActivation(result: ActivationResult, format: Format, ctx: CommandContext, files?: number): void {
  if (format === 'json') {
    ctx.io.out(`${JSON.stringify(result)}\n`);
    return;
  }
  if (result.kind === 'unchanged') {
    ctx.io.out(`= ${short(result.version)} is already active; nothing changed\n`);
    return;
  }
  const what = result.created ? `new version${files === undefined ? '' : `, ${files} files`}` : 'stored version';
  ctx.io.out(`✓ activated ${short(result.version)} (${what}); previous: ${result.previous ? short(result.previous) : 'none'}; audit #${result.activation}\n`);
}

interface Drift {
  /** Whether the local files were compared. */
  checked: boolean;
  local?: string;
  matches?: boolean;
  note?: string;
}

function localDrift(paths: string[], ctx: CommandContext, active: string | null): Drift {
  if (paths.every((p) => !existsSync(path.resolve(ctx.io.cwd, p)))) return { checked: false, note: `no configuration at ${paths.join(' ')}` };
  const loaded = loadProject(paths, { cwd: ctx.io.cwd });
  if (!loaded.project) return { checked: false, note: 'the local configuration does not load (herald validate)' };
  const local = configVersionId(collectConfigFiles(loaded.project));
  return { checked: true, local, matches: local === active };
}

function renderStatus(s: EngineStatus, drift: Drift): string {
  const lines: string[] = [];
  const at = (d: Date) => d.toISOString().replace('.000Z', 'Z');
  if (s.active) {
    const a = s.active;
    lines.push(`active    ${short(a.version)}  ${a.action === 'rollback' ? 'rolled back' : 'applied'} by ${a.who} at ${at(a.activatedAt)}${a.gitSha ? `  git ${a.gitSha.slice(0, 12)}` : ''}${a.message ? `  "${a.message}"` : ''}`);
  } else {
    lines.push('active    none (herald apply activates a configuration)');
  }
  if (!drift.checked) lines.push(`drift     not checked: ${drift.note}`);
  else if (drift.matches) lines.push('drift     none: the local files are the active version');
  else lines.push(`drift     the local files (${short(drift.local!)}) differ from the active version: plan and apply`);
  lines.push(`runs      ${s.activeRuns} active, ${s.dueTimers} timers due`);
  lines.push(`outbox    ${Object.entries(s.outbox).map(([k, n]) => `${k} ${n}`).join(' · ')}`);
  const lag = Object.entries(s.lagSeconds).filter(([, sec]) => sec > 0);
  lines.push(`lag       ${lag.length ? lag.map(([q, sec]) => `${q} ${formatSeconds(sec)}`).join(' · ') : 'none: every due item is claimed'}`);
  if (s.models) {
    const m = s.models;
    const parts = [m.rfmPopulation === null ? null : `RFM over ${m.rfmPopulation} customers`, m.clv === null ? null : m.clv.ok ? 'CLV fitted' : `CLV not fitted: ${oneLine(m.clv.problem ?? '')}`].filter(Boolean);
    lines.push(`models    fitted ${at(m.fittedAt)}: ${parts.join('; ')}`);
  }
  if (s.channels.length) {
    lines.push('channels  (last 1 h | last 24 h: sent / failed / retried / ambiguous)');
    const width = Math.max(...s.channels.map((c) => c.channel.length));
    const counts = (c: AttemptCounts) => `${c.sent} / ${c.failed} / ${c.retried} / ${c.ambiguous}`;
    for (const c of s.channels) {
      lines.push(`  ${c.channel.padEnd(width)}  ${c.verdict.padEnd(8)}  1 h ${counts(c.lastHour)} | 24 h ${counts(c.lastDay)} | ${c.queued} queued`);
      if (c.lastError) lines.push(`  ${''.padEnd(width)}  last error ${at(c.lastError.at)} ${c.lastError.code}: ${oneLine(c.lastError.message)}`);
    }
  }
  if (s.versions.length) {
    lines.push('versions');
    for (const v of s.versions) lines.push(`  ${v.active ? '*' : ' '} ${short(v.id)}  ${at(v.createdAt)}  by ${v.createdBy}  ${v.files} files`);
  }
  return `${lines.join('\n')}\n`;
}

function formatSeconds(sec: number): string {
  if (sec < 60) return `${sec.toFixed(1)} s`;
  if (sec < 3600) return `${(sec / 60).toFixed(1)} min`;
  return `${(sec / 3600).toFixed(1)} h`;
}

/** A provider's error text on one line, cut to what a terminal shows. */
function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 159)}…` : flat;
}

function whoAmI(flag: string | undefined, ctx: CommandContext): string {
  if (flag) return flag;
  if (ctx.io.env.HERALD_WHO) return ctx.io.env.HERALD_WHO;
  try {
    const email = execFileSync('git', ['config', 'user.email'], { cwd: ctx.io.cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (email) return email;
  } catch {
    /* not configured */
  }
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

function gitHead(cwd: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}
