// Time is a parameter (STYLE habit 4): every timestamp the engine writes comes from a Clock, bound into
// SQL as a value, so tests move a clock instead of sleeping and nothing depends on the database's now().

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests set and advance by hand. */
export interface ManualClock extends Clock {
  set(ms: number): void;
  advance(ms: number): void;
}

export function manualClock(start: number | string = '2024-01-01T00:00:00Z'): ManualClock {
  let t = typeof start === 'number' ? start : Date.parse(start);
  return {
    now: () => t,
    set: (ms) => {
      t = ms;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}
