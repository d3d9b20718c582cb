// A process entry point for the engine's commands (run with `node --import tsx`), so a test can send it a
// real SIGTERM. Exit code handling as bin/herald.js: process.exitCode, never process.exit.
import { processIO } from '../../../src/cli/io.js';
import { runHerald } from './cli.js';

runHerald(process.argv.slice(2), processIO()).then((code) => {
  process.exitCode = code;
});
