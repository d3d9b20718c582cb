// The registry of CLI commands: one module per command, each registering itself.
import type { RegisterCommand } from '../main.js';
import { registerFmt } from './fmt.js';
import { registerValidate } from './validate.js';

export const commands: RegisterCommand[] = [registerValidate, registerFmt];
