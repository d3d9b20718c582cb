// Real processes and real fakes for engine tests that kill or multiply `herald engine start`: the daemon as a
// child process, an SMTP server that answers slowly, an SMS gateway that dedupes by Idempotency-Key.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';
import { BASE_CHANNELS } from '../../support/project-fixture.js';

/** The fixture's channels with a sender address, so the SMTP provider can be built from the environment. */
export const CHANNELS_WITH_FROM = BASE_CHANNELS.replace('  type: email\n', '  type: email\n  from: shop@example.com\n');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../../..');

/** An SMTP server that keeps every message and answers the final dot after `delayMs`: a kill lands mid-send. */
export async function startSlowSmtp(delayMs: number) {
  const received: string[] = [];
  let onData: (() => void) | undefined;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      stream.on('error', () => undefined);
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push(Buffer.concat(chunks).toString('utf8'));
        const hook = onData;
        onData = undefined;
        hook?.();
        setTimeout(() => callback(null, 'Ok'), delayMs);
      });
    },
  });
  // A killed client resets its connection: expected here, not an error of the test.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    /** Resolves when the next message has arrived and its answer is still pending. */
    nextMessage: () => new Promise<void>((resolve) => (onData = resolve)),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** An SMS gateway that answers after `delayMs` and, like an idempotent API, accepts each Idempotency-Key once. */
export async function startGateway(delayMs: number) {
  const keys: string[] = [];
  const accepted = new Set<string>();
  let onRequest: (() => void) | undefined;
  const server = createServer((req, res) => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const key = String(req.headers['idempotency-key'] ?? '');
      keys.push(key);
      accepted.add(key); // a repeated key is answered, not sent again: what an idempotent API does
      const hook = onRequest;
      onRequest = undefined;
      hook?.();
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: `gw-${key}` }));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`,
    keys,
    accepted,
    /** Resolves when the next request has arrived and its answer is still pending. */
    nextRequest: () => new Promise<void>((resolve) => (onRequest = resolve)),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export interface Engine {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  log(): string;
}

export async function startEngineProcess(args: string[], env: NodeJS.ProcessEnv): Promise<Engine> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, 'cli-entry.ts'), 'engine', 'start', '--port', '0', '--tick', '50', '--send-lease', '1500', '--timer-lease', '1500', '--log-level', 'warn', ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (m) resolve(m[1]);
    });
    void exited.then((code) => reject(new Error(`engine exited ${code} before listening:\n${stderr}`)));
  });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  return { child, url, exited, log: () => `${stderr}\n${stdout}` };
}

