// `herald engine start`: the daemon (DESIGN §6). DATABASE_URL selects PostgreSQL, else the embedded PGlite
// directory; HERALD_API_TOKEN is the bearer token ingest requires. On SIGTERM or SIGINT it stops accepting,
// finishes requests in flight, closes the store and exits 0.
import { hostname } from 'node:os';
import { Option } from 'commander';
import { applyConfig, collectConfigFiles, DEFAULT_PORT, ENGINE_CODE, short, startEngine } from '../../engine/index.js';
import { ExitCode, UserError } from '../exit-codes.js';
import { createProvider, type ChannelProvider } from '../../channels/index.js';
import type { ChannelDef } from '../../config/model.js';
import type { CommandContext, RegisterCommand } from '../main.js';
import { loadOrReport, openCliStore, toUserError, withStoreOptions, type StoreFlags } from './apply.js';

export interface EngineStartFlags extends StoreFlags {
  port: string;
  host: string;
  apply?: string;
  tick: string;
  timerLease: string;
  sendLease: string;
  modelRefit: string;
  /** --entry-at-ingest / --no-entry-at-ingest; unset: startEngine's default (at ingest). */
  entryAtIngest?: boolean;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/**
 * One provider per channel definition (a new configuration version gets new ones). A channel whose
 * settings cannot be resolved (an unset env variable) fails its sends as retryable with the reason, so
 * the messages wait in the outbox instead of the daemon refusing every other channel.
 */
export function channelProviders(env: NodeJS.ProcessEnv): (channel: ChannelDef) => ChannelProvider {
  const cache = new WeakMap<ChannelDef, ChannelProvider>();
  return (channel) => {
    let provider = cache.get(channel);
    if (!provider) {
      try {
        provider = createProvider(channel, env);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        provider = {
          idempotent: false,
          send: async () => ({ kind: 'failed', retryable: true, code: 'provider_config', message }),
          close: async () => {},
        };
      }
      cache.set(channel, provider);
    }
    return provider;
  };
}

/** HERALD_RECEIPT_SECRET_<CHANNEL> (the channel name upper-cased, '-' written '_') and HERALD_UNSUBSCRIBE_SECRET. */
export function secretsFromEnv(env: NodeJS.ProcessEnv): { receiptSecrets: Record<string, string>; unsubscribeSecret?: string } {
  const receiptSecrets: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const m = /^HERALD_RECEIPT_SECRET_([A-Z0-9_]+)$/.exec(key);
    if (!m || !value) continue;
    // Env names cannot hold '-': the secret serves the channel named with '_' and with '-'.
    receiptSecrets[m[1].toLowerCase()] = value;
    receiptSecrets[m[1].toLowerCase().replace(/_/g, '-')] = value;
  }
  const out: { receiptSecrets: Record<string, string>; unsubscribeSecret?: string } = { receiptSecrets };
  if (env.HERALD_UNSUBSCRIBE_SECRET) out.unsubscribeSecret = env.HERALD_UNSUBSCRIBE_SECRET;
  return out;
}

export const registerEngine: RegisterCommand = (program, ctx) => {
  const engine = program.command('engine').description('the engine daemon: ingest, durable journeys, sending');
  withStoreOptions(
    engine
      .command('start')
      .description('run the engine until SIGTERM')
      .option('--port <port>', 'TCP port (0: any free one)', String(DEFAULT_PORT))
      .option('--host <host>', 'interface to listen on', '127.0.0.1')
      .option('--apply <path>', 'apply this configuration directory before starting')
      .option('--tick <ms>', 'how often the worker looks for due timers, sweeps and queued sends', '1000')
      .option('--timer-lease <ms>', 'how long a claimed timer is reserved for this engine', '60000')
      .option('--send-lease <ms>', 'how long a send may take before the message counts as ambiguous (or, on an idempotent channel, is retried)', '300000')
      .option('--model-refit <ms>', 'how often the RFM and CLV models are refitted from the stored events (the first fit runs at once)', '86400000')
      .option('--entry-at-ingest', 'enter ingested events into journeys in the ingest transaction (default)')
      .option('--no-entry-at-ingest', 'only queue ingested events; the worker enters them (acknowledged as fast as a plain INSERT)')
      .addOption(new Option('--log-level <level>', 'pino log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  ).action(async (flags: EngineStartFlags) => {
    await runEngine(flags, ctx, shutdownSignal());
  });
};

/**
 * Runs the engine until `stop` resolves (with the signal's name). Split from the action so tests drive
 * shutdown without sending signals to the test runner.
 */
export async function runEngine(flags: EngineStartFlags, ctx: CommandContext, stop: Promise<string>): Promise<void> {
  const token = ctx.io.env.HERALD_API_TOKEN;
  if (!token) {
    throw new UserError(ENGINE_CODE.missingToken, 'HERALD_API_TOKEN is not set', ExitCode.usage, 'set it to the bearer token clients send to /v1/ (e.g. openssl rand -hex 32)');
  }
  const prepared = ctx.io.env.HERALD_PG_PREPARED;
  if (prepared !== undefined && prepared !== '' && prepared !== 'on' && prepared !== 'off') {
    throw new UserError(ENGINE_CODE.badEnvironment, `HERALD_PG_PREPARED is '${prepared}'; it takes on or off`, ExitCode.usage, 'off sends the batch statements unnamed, for poolers that cannot keep prepared statements');
  }
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError('HER7008', `--port ${flags.port} is not a TCP port`, ExitCode.usage);
  const tickMs = Number(flags.tick);
  if (!Number.isInteger(tickMs) || tickMs < 10) throw new UserError('HER7008', `--tick ${flags.tick} is not a whole number of milliseconds ≥ 10`, ExitCode.usage);
  const timerLeaseMs = Number(flags.timerLease);
  const sendLeaseMs = Number(flags.sendLease);
  const modelRefitMs = Number(flags.modelRefit);
  for (const [flag, raw, v] of [['--timer-lease', flags.timerLease, timerLeaseMs], ['--send-lease', flags.sendLease, sendLeaseMs], ['--model-refit', flags.modelRefit, modelRefitMs]] as const) {
    if (!Number.isInteger(v) || v < 100) throw new UserError('HER7008', `${flag} ${raw} is not a whole number of milliseconds ≥ 100`, ExitCode.usage);
  }
  const project = flags.apply ? loadOrReport([flags.apply], ctx) : undefined;
  if (flags.apply && !project) return;
  const store = await openCliStore(flags, ctx, { mustExist: false });
  try {
    if (project) {
      const files = collectConfigFiles(project);
      const result = await applyConfig(store, files, { who: ctx.io.env.HERALD_WHO ?? 'herald engine start --apply', project }).catch((error: unknown) => {
        throw toUserError(error, ctx);
      });
      ctx.io.err(result.kind === 'unchanged' ? `configuration ${short(result.version)} already active\n` : `activated configuration ${short(result.version)}\n`);
    }
    const running = await startEngine({ store, token, port, host: flags.host, logLevel: flags.logLevel, defaultMetrics: true, entryAtIngest: flags.entryAtIngest, worker: { providers: channelProviders(ctx.io.env), intervalMs: tickMs, timerLeaseMs, sendLeaseMs, modelRefitMs, workerId: `${hostname()}-${process.pid}`, unsubscribeSecret: ctx.io.env.HERALD_UNSUBSCRIBE_SECRET || undefined }, ...secretsFromEnv(ctx.io.env) }).catch((error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
        throw new UserError(ENGINE_CODE.cannotListen, `cannot listen on ${flags.host}:${port}: ${code}`, ExitCode.unavailable, 'choose another --port or --host');
      }
      throw toUserError(error, ctx);
    });
    const active = running.active();
    ctx.io.err(`herald engine listening on ${running.url} (${store.backend}${active ? `, configuration ${short(active.version)}` : ', no configuration active'})\n`);
    const signal = await stop;
    ctx.io.err(`${signal}: finishing requests in flight, then stopping\n`);
    await running.close();
  } finally {
    await store.close();
  }
  ctx.io.err('herald engine stopped\n');
  ctx.setExit(ExitCode.ok);
}

/** Resolves on the first SIGTERM or SIGINT; the listeners are removed so nothing keeps the process alive. */
function shutdownSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(signal);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}
