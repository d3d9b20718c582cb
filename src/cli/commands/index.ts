// The registry of CLI commands: one module per command, each registering itself.
import type { RegisterCommand } from '../main.js';

export const commands: RegisterCommand[] = [];
