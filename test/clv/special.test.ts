import { describe, expect, it } from 'vitest';
import { digamma, hyp2f1, logAddExp, logGamma, logHyp2f1Positive } from '../../src/analytics/clv/special.js';

const EULER_GAMMA = 0.5772156649015329;

describe('logGamma', () => {
  it.each([
    [1, 0],
    [2, 0],
    [0.5, 0.5 * Math.log(Math.PI)],
    [10, Math.log(362880)],
    [100, 359.1342053695754],
    [0.1, 2.252712651734206],
    [1e-8, 18.42068073818021], // ≈ −ln(x) − γx
    [1000.5, 5908.674175848678],
  ])('lnΓ(%d)', (x, expected) => {
    expect(Math.abs(logGamma(x) - expected)).toBeLessThan(1e-12 * Math.max(1, Math.abs(expected)));
  });

  it('satisfies Γ(x+1) = xΓ(x)', () => {
    for (const x of [0.03, 0.7, 3.3, 17.2, 250.5]) {
      expect(logGamma(x + 1) - logGamma(x) - Math.log(x)).toBeCloseTo(0, 11);
    }
  });
});

describe('digamma', () => {
  it('matches known values', () => {
    expect(digamma(1)).toBeCloseTo(-EULER_GAMMA, 14);
    expect(digamma(0.5)).toBeCloseTo(-EULER_GAMMA - 2 * Math.LN2, 14);
    expect(digamma(10)).toBeCloseTo(2.251752589066721, 14);
  });

  it('is the derivative of logGamma', () => {
    for (const x of [0.05, 0.8, 2.5, 40, 3000]) {
      const h = 1e-5 * Math.max(1, x);
      const numeric = (logGamma(x + h) - logGamma(x - h)) / (2 * h);
      expect(Math.abs(digamma(x) - numeric)).toBeLessThan(1e-6 * Math.max(1, Math.abs(numeric)));
    }
  });
});

describe('hyp2f1', () => {
  it('2F1(1,1;2;z) = −ln(1−z)/z, up to z = 0.999', () => {
    for (const z of [0.01, 0.3, 0.7, 0.95, 0.999]) {
      const exact = -Math.log1p(-z) / z;
      expect(Math.abs(hyp2f1(1, 1, 2, z) / exact - 1)).toBeLessThan(1e-13);
    }
  });

  it('2F1(a,b;b;z) = (1−z)^−a', () => {
    for (const [a, b, z] of [[0.24, 2.4, 0.6], [3.5, 0.3, 0.9], [50, 7, 0.5]]) {
      expect(Math.abs(hyp2f1(a, b, b, z) / Math.pow(1 - z, -a) - 1)).toBeLessThan(1e-12);
    }
  });

  it('2F1(1/2,1/2;3/2;z²) = arcsin(z)/z', () => {
    for (const z of [0.2, 0.8, 0.97]) {
      expect(Math.abs(hyp2f1(0.5, 0.5, 1.5, z * z) / (Math.asin(z) / z) - 1)).toBeLessThan(1e-13);
    }
  });

  it('terminates for a negative integer parameter (a polynomial)', () => {
    const [b, c, z] = [2.5, 1.7, 0.8];
    const poly = 1 - (2 * b * z) / c + (b * (b + 1) * z * z) / (c * (c + 1));
    expect(hyp2f1(-2, b, c, z)).toBeCloseTo(poly, 14);
  });

  it('logHyp2f1Positive stays finite where 2F1 overflows a double', () => {
    // 2F1(a,b;b;z) = (1−z)^−a with a = 2000, z = 0.9: about 10^2000.
    expect(logHyp2f1Positive(2000, 3, 3, 0.9)).toBeCloseTo(-2000 * Math.log(0.1), 8);
  });
});

describe('logAddExp', () => {
  it('is ln(e^u + e^v) without overflow', () => {
    expect(logAddExp(Math.log(2), Math.log(3))).toBeCloseTo(Math.log(5), 15);
    expect(logAddExp(1000, 1000)).toBeCloseTo(1000 + Math.LN2, 12);
    expect(logAddExp(-Infinity, 4)).toBe(4);
  });
});
