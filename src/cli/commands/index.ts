// The registry of CLI commands: one module per command, each registering itself.
import type { RegisterCommand } from '../main.js';
import { registerApply, registerRollback, registerStatus } from './apply.js';
import { registerEngine } from './engine.js';
import { register as registerSample } from './sample.js';
import { register as registerDataImport } from './data-import.js';
import { registerClv } from './clv.js';
import { registerExplain } from './explain.js';
import { registerFmt } from './fmt.js';
import { registerPlan } from './plan.js';
import { registerPreview } from './preview.js';
import { registerReport } from './report.js';
import { registerSegments } from './segments.js';
import { registerShow } from './show.js';
import { registerValidate } from './validate.js';

export const commands: RegisterCommand[] = [registerValidate, registerFmt, registerPlan, registerShow, registerPreview, registerExplain, registerClv, registerSegments, registerApply, registerRollback, registerStatus, registerEngine, registerSample, registerDataImport, registerReport];
