import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import type { CliIO } from '../src/cli/io.js';

function captureIO(): CliIO & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out(t: string) {
      io.stdout += t;
    },
    err(t: string) {
      io.stderr += t;
    },
    cwd: process.cwd(),
    env: {},
    isTTY: false,
  };
  return io;
}

describe('cli', () => {
  it('exits 64 on an unknown command', async () => {
    const io = captureIO();
    const code = await main(['node', 'herald', 'no-such-command'], io);
    expect(code).toBe(64);
    expect(io.stderr).toMatch(/error: /);
  });
});
