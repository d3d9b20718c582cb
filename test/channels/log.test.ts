import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProvider } from '../../src/channels/index.js';
import type { RenderedSms } from '../../src/templates/template.js';
import { makeChannel, makeMessage } from './support.js';

const NOW = Date.UTC(2024, 4, 1, 10, 0, 0);
const sms: RenderedSms = { channel: 'sms', text: 'Hi Ada', encoding: 'gsm7', units: 6, segments: 1 };
const channel = makeChannel('sms', { kind: 'log', path: 'out/messages.ndjson' });

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'herald-log-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function lines(): Promise<Record<string, unknown>[]> {
  const text = await readFile(path.join(dir, 'out/messages.ndjson'), 'utf8');
  return text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('log provider', () => {
  it('appends one JSON line per message, under baseDir, creating the folder', async () => {
    const provider = createProvider(channel, {}, { now: () => NOW, baseDir: dir });
    expect(provider.idempotent).toBe(true);
    const results = await Promise.all(['a', 'b', 'c'].map((id) => provider.send(makeMessage(channel, sms, { id, to: '+491' }))));
    expect(results).toEqual(['a', 'b', 'c'].map((id) => ({ kind: 'sent', providerMessageId: id, at: NOW })));
    await provider.close();
    const written = await lines();
    expect(written.map((l) => l.id)).toEqual(['a', 'b', 'c']);
    expect(written[0]).toEqual({ at: '2024-05-01T10:00:00.000Z', id: 'a', channel: 'sms', type: 'sms', customerId: 'c-42', to: '+491', class: 'service', message: sms });
  });

  it('writes an id once: again in this process, or by a new provider on the same file', async () => {
    const first = createProvider(channel, {}, { baseDir: dir });
    await first.send(makeMessage(channel, sms, { id: 'a' }));
    expect(await first.send(makeMessage(channel, sms, { id: 'a' }))).toMatchObject({ kind: 'sent', providerMessageId: 'a' });
    await first.close();
    const second = createProvider(channel, {}, { baseDir: dir });
    await second.send(makeMessage(channel, sms, { id: 'a' }));
    await second.send(makeMessage(channel, sms, { id: 'b' }));
    await second.close();
    expect((await lines()).map((l) => l.id)).toEqual(['a', 'b']);
  });

  it('an unwritable path is a retryable failure, not a throw', async () => {
    const blocked = makeChannel('sms', { kind: 'log', path: '/dev/null/x/messages.ndjson' });
    const provider = createProvider(blocked, {});
    expect(await provider.send(makeMessage(blocked, sms))).toMatchObject({ kind: 'failed', retryable: true, code: 'write_failed' });
  });
});
