// SMS length in segments, which is what SMS providers charge for (3GPP TS 23.038 alphabet, TS 23.040
// concatenation).
//
// - GSM-7 when every character is in the basic set (1 septet) or the extension table (2 septets: escape +
//   char); otherwise UCS-2, counted in UTF-16 code units.
// - One message holds 160 septets / 70 units; a concatenated one 153 / 67 per segment (the user data header
//   takes the rest).
// - A segment boundary never splits an escape pair or a surrogate pair: such a unit that does not fit moves
//   whole to the next segment, as phones and providers pack them. So segments are counted by packing, not by
//   ceil(units / 153).
// - Empty text is 0 segments: nothing is sent. A host that meets an empty rendered SMS should skip the send
//   (and say why) rather than pay for a blank message.

export type SmsEncoding = 'gsm7' | 'ucs2';

export interface SmsCount {
  encoding: SmsEncoding;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  units: number;
  segments: number;
}

export const SMS_LIMITS: Readonly<Record<SmsEncoding, { single: number; multipart: number }>> = {
  gsm7: { single: 160, multipart: 153 },
  ucs2: { single: 70, multipart: 67 },
};

/** GSM 03.38 basic character set, in code order (0x00..0x7F), without the escape at 0x1B. */
export const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** The extension table: each costs an escape septet plus its own. */
export const GSM7_EXTENSION = '\f^{}\\[~]|€';

const septets = new Map<number, 1 | 2>();
for (const c of GSM7_BASIC) septets.set(c.charCodeAt(0), 1);
for (const c of GSM7_EXTENSION) septets.set(c.charCodeAt(0), 2);

/** Septets a UTF-16 code unit costs in GSM-7, or 0 when it is not in the alphabet. */
export function gsm7Septets(charCode: number): 0 | 1 | 2 {
  return septets.get(charCode) ?? 0;
}

/** Index of the first character outside GSM-7, or -1. */
export function firstNonGsm7(text: string): number {
  for (let i = 0; i < text.length; i++) if (!septets.has(text.charCodeAt(i))) return i;
  return -1;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

export function countSmsSegments(text: string): SmsCount {
  let gsmUnits = 0;
  let escapes = false;
  for (let i = 0; i < text.length; i++) {
    const s = septets.get(text.charCodeAt(i));
    if (s === undefined) return countUcs2(text);
    gsmUnits += s;
    if (s === 2) escapes = true;
  }
  const { single, multipart } = SMS_LIMITS.gsm7;
  if (gsmUnits === 0) return { encoding: 'gsm7', units: 0, segments: 0 };
  if (gsmUnits <= single) return { encoding: 'gsm7', units: gsmUnits, segments: 1 };
  if (!escapes) return { encoding: 'gsm7', units: gsmUnits, segments: Math.ceil(gsmUnits / multipart) };
  let segments = 1;
  let used = 0;
  for (let i = 0; i < text.length; i++) {
    const w = septets.get(text.charCodeAt(i))!;
    if (used + w > multipart) {
      segments++;
      used = w;
    } else {
      used += w;
    }
  }
  return { encoding: 'gsm7', units: gsmUnits, segments };
}

function countUcs2(text: string): SmsCount {
  const units = text.length;
  const { single, multipart } = SMS_LIMITS.ucs2;
  if (units <= single) return { encoding: 'ucs2', units, segments: units === 0 ? 0 : 1 };
  let segments = 1;
  let used = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const w = isHighSurrogate(c) && isLowSurrogate(text.charCodeAt(i + 1)) ? 2 : 1;
    if (used + w > multipart) {
      segments++;
      used = w;
    } else {
      used += w;
    }
    i += w - 1;
  }
  return { encoding: 'ucs2', units, segments };
}
