import { describe, expect, it } from "vitest";
import { medianRatioInterval, percentile } from "./stats";

describe("percentile", () => {
  it("takes the nearest rank, and NaN of nothing", () => {
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe("medianRatioInterval", () => {
  const base = [
    410, 395, 430, 402, 455, 388, 420, 398, 441, 407, 415, 392, 460, 405, 399, 428, 411, 436, 390, 418,
  ];

  it("gives a ratio with no width when every turn has the same ratio", () => {
    const r = medianRatioInterval(
      base.map((x) => x * 1.2),
      base,
    );
    expect(r.ratio).toBeCloseTo(1.2, 10);
    expect(r.low).toBeCloseTo(1.2, 10);
    expect(r.high).toBeCloseTo(1.2, 10);
  });

  it("brackets the measured ratio with an interval that widens with noise", () => {
    // Ours: the base plus 45 ms, plus noise of up to ±60 ms that the base does not share.
    const noise = [12, -40, 55, -8, 30, -60, 5, 48, -25, 18, -52, 37, -3, 22, -45, 60, -15, 9, -33, 41];
    const ours = base.map((x, i) => x + 45 + (noise[i] as number));
    const r = medianRatioInterval(ours, base);
    expect(r.low).toBeLessThan(r.ratio);
    expect(r.high).toBeGreaterThan(r.ratio);
    const quieter = medianRatioInterval(
      base.map((x, i) => x + 45 + (noise[i] as number) / 10),
      base,
    );
    expect(quieter.high - quieter.low).toBeLessThan(r.high - r.low);
  });

  it("is reproducible for a seed and refuses legs of different lengths", () => {
    const ours = base.map((x, i) => x + (i % 3) * 20);
    expect(medianRatioInterval(ours, base, { seed: 7 })).toEqual(
      medianRatioInterval(ours, base, { seed: 7 }),
    );
    expect(() => medianRatioInterval([1, 2], [1])).toThrow(/same number of turns/);
    expect(() => medianRatioInterval([], [])).toThrow(/same number of turns/);
  });
});
