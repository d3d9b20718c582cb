// Diagnostic codes of the CLV models (HER58xx: data). Stable: never renumber, only add.

export const CLV_CODES = [
  { code: 'HER5801', title: 'no transactions in the calibration period' },
  { code: 'HER5802', title: 'too few repeat buyers to fit BG/NBD' },
  { code: 'HER5803', title: 'BG/NBD fit did not converge' },
  { code: 'HER5804', title: 'too few repeat buyers with a positive spend to fit Gamma-Gamma' },
  { code: 'HER5805', title: 'Gamma-Gamma fit did not converge' },
  { code: 'HER5806', title: 'Gamma-Gamma mean spend does not exist (q <= 1)' },
  { code: 'HER5807', title: 'invalid CLV settings or periods' },
  { code: 'HER5808', title: 'no holdout period for the calibration check' },
  { code: 'HER5809', title: 'BG/NBD finds no dropout in the calibration period' },
] as const satisfies readonly { code: string; title: string }[];

export type ClvCode = (typeof CLV_CODES)[number]['code'];

export function clvCodeTitle(code: ClvCode): string {
  return CLV_CODES.find((c) => c.code === code)?.title ?? code;
}
