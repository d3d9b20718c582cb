// Diagnostic codes of channel providers (HER6xxx): problems found when a provider is set up from a Channel and the
// environment the engine runs in. Codes are stable: never renumber or reuse one; add new ones at the end.
// CHANNEL_CODES is the source of the README table.
//
// These are configuration problems, found once at start-up. What happens to one message (refused, timed out, …)
// is not a diagnostic but a SendResult (provider.ts).

export const CHANNEL_CODE = {
  envMissing: 'HER6001',
  settingMissing: 'HER6002',
  settingInvalid: 'HER6003',
  kindMismatch: 'HER6004',
} as const;

export type ChannelCode = (typeof CHANNEL_CODE)[keyof typeof CHANNEL_CODE];

export const CHANNEL_CODES: readonly { code: ChannelCode; title: string }[] = [
  { code: 'HER6001', title: 'environment variable named by a channel provider setting ({ env: NAME }) is not set or empty' },
  { code: 'HER6002', title: 'channel provider setting required by its kind is missing' },
  { code: 'HER6003', title: 'channel provider setting is invalid (URL scheme, VAPID key, sender address)' },
  { code: 'HER6004', title: 'channel provider kind cannot send the channel type' },
];
