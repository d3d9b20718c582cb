// The journey core's vocabulary: run state (serialisable, stored by the engine as a row), the inputs
// that advance it and the effects it asks its host to carry out. Pure data.
import type { AdvanceIf, ChannelDef, MessageClass } from '../config/model.js';

export type MessageStatus = 'sent' | 'delivered' | 'opened' | 'clicked' | 'failed';

/** Order of the positive statuses; a receipt never moves a message backwards. */
export const STATUS_RANK: Record<MessageStatus, number> = { sent: 0, delivered: 1, opened: 2, clicked: 3, failed: -1 };

export interface MessageState {
  id: string;
  step: string;
  channel: string;
  template: string;
  status: MessageStatus;
  sentAt: number;
  cascadeIndex?: number;
}

export interface CascadeState {
  name: string;
  step: string;
  index: number;
  messageId?: string;
  /** When the current step's advance_if is judged. */
  deadline?: number;
}

export type Waiting =
  | { kind: 'timer' }
  | { kind: 'message'; messageId: string; status: MessageStatus }
  | { kind: 'event'; event: string }
  | { kind: 'cascade' }
  | { kind: 'deferred' };

export type RunStatus = 'active' | 'completed' | 'converted' | 'exited' | 'held_out';

export interface RunState {
  runId: string;
  journey: string;
  customerId: string;
  enteredAt: number;
  /** The event that started the run (event entry), for event.* in conditions and templates. */
  entryEvent?: { type: string; props: Readonly<Record<string, unknown>> };
  status: RunStatus;
  /** Current step id while active. */
  step?: string;
  visits: Record<string, number>;
  waiting?: Waiting;
  /** When the host must deliver a `timer` input. */
  wakeAt?: number;
  goalDeadline?: number;
  messages: Record<string, MessageState>;
  /** message id per send step (latest visit), for wait.for.message */
  messageByStep: Record<string, string>;
  cascade?: CascadeState;
}

export type RunInput =
  | { kind: 'enter'; at: number; event?: { type: string; props: Readonly<Record<string, unknown>> } }
  | { kind: 'timer'; at: number }
  | { kind: 'event'; at: number; type: string; props: Readonly<Record<string, unknown>> }
  | { kind: 'receipt'; at: number; messageId: string; status: MessageStatus };

export type SuppressReason = 'no_address' | 'no_consent' | 'frequency_cap' | 'quiet_hours' | 'budget';

export type ExitReason = 'completed' | 'goal' | 'exit_step' | 'max_visits' | 'held_out';

export type Effect =
  | { kind: 'step'; at: number; step: string }
  | { kind: 'skip'; at: number; step: string; why: 'condition' }
  | { kind: 'send'; at: number; step: string; messageId: string; channel: string; template: string; cascade?: { name: string; index: number } }
  | { kind: 'suppress'; at: number; step: string; channel: string; reason: SuppressReason; cascade?: { name: string; index: number } }
  | { kind: 'defer'; at: number; step: string; channel: string; reason: 'quiet_hours' | 'frequency_cap'; until: number }
  | { kind: 'cascade_stop'; at: number; step: string; why: 'success' | 'goal' | 'exhausted' | 'not_advanced' }
  | { kind: 'goal'; at: number }
  | { kind: 'exit'; at: number; reason: ExitReason };

/** What the policy gate answers for one prospective send. */
export type GateDecision =
  | { kind: 'allow' }
  | { kind: 'suppress'; reason: SuppressReason }
  | { kind: 'defer'; reason: 'quiet_hours' | 'frequency_cap'; until: number };

export interface SendRequest {
  channel: ChannelDef;
  class: MessageClass;
  at: number;
}

export { type AdvanceIf };
