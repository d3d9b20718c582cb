import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { captureIO } from './reporters/support.js';

describe('cli', () => {
  it('exits 64 on an unknown command', async () => {
    const io = captureIO();
    const code = await main(['node', 'herald', 'no-such-command'], io);
    expect(code).toBe(64);
    expect(io.stderr).toMatch(/error: /);
  });
});
