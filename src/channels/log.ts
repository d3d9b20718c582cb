// The log provider, for local runs: one JSON line per message appended to `provider.path`
//
//   {"at":"2024-05-01T10:00:00.000Z","id":"…","channel":"email","type":"email","customerId":"c1","to":"…",
//    "class":"marketing","message":{…rendered…},"unsubscribeUrl":"…"}
//
// Idempotent by id: an id already in the file (read once, at the first send) or written by this provider is not
// written again, and the repeat is reported `sent`, as an idempotent API answers a repeated key. Lines are appended
// one at a time, in send order, so concurrent sends never interleave.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { errorText, failed, InFlight } from './in-flight.js';
import type { ChannelProvider, OutgoingMessage, ProviderOptions, SendResult } from './provider.js';
import type { ProviderConfig } from './resolve-config.js';

type LogConfig = Extract<ProviderConfig, { kind: 'log' }>;

export function createLogProvider(config: LogConfig, options: ProviderOptions = {}): ChannelProvider {
  const now = options.now ?? Date.now;
  const inFlight = new InFlight();
  const written = new Set<string>();
  let ready: Promise<void> | undefined;
  let tail: Promise<unknown> = Promise.resolve();

  const load = async (): Promise<void> => {
    await mkdir(path.dirname(config.path), { recursive: true });
    let text: string;
    try {
      text = await readFile(config.path, 'utf8');
    } catch {
      return; // no file yet
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const id = (JSON.parse(line) as { id?: unknown }).id;
        if (typeof id === 'string') written.add(id);
      } catch {
        // a torn last line from a crash: its message was not recorded
      }
    }
  };

  const attempt = async (msg: OutgoingMessage): Promise<SendResult> => {
    try {
      await (ready ??= load());
    } catch (e) {
      ready = undefined;
      return failed(true, 'write_failed', `cannot prepare ${config.path}: ${errorText(e)}`);
    }
    if (written.has(msg.id)) return { kind: 'sent', providerMessageId: msg.id, at: now() };
    written.add(msg.id);
    const at = now();
    const line = `${JSON.stringify({
      at: new Date(at).toISOString(),
      id: msg.id,
      channel: msg.channel.meta.name,
      type: msg.channel.type,
      customerId: msg.customerId,
      to: msg.to,
      class: msg.class,
      message: msg.rendered,
      ...(msg.unsubscribeUrl !== undefined ? { unsubscribeUrl: msg.unsubscribeUrl } : {}),
      ...(msg.unsubscribePostUrl !== undefined ? { unsubscribePostUrl: msg.unsubscribePostUrl } : {}),
    })}\n`;
    const write = tail.then(() => appendFile(config.path, line, 'utf8'));
    tail = write.catch(() => undefined);
    try {
      await write;
      return { kind: 'sent', providerMessageId: msg.id, at };
    } catch (e) {
      written.delete(msg.id);
      return failed(true, 'write_failed', `cannot append to ${config.path}: ${errorText(e)}`);
    }
  };

  return {
    idempotent: true,
    send: (msg) => inFlight.run(() => attempt(msg)),
    close: () => inFlight.close(),
  };
}
