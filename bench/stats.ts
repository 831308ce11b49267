/*
 * Statistics for the benchmarks' printouts. The warm-turn ratio moves by about ±0.05
 * between runs of the same code on one machine (bench/README.md), so one run's ratio
 * is printed with an interval that shows how far its own turns let it move.
 */

/** The p-th percentile (nearest rank) of the values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

/** mulberry32: a small seeded generator, so that a printout can be reproduced. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RatioInterval {
  /** median(ours) / median(base) of the turns as measured. */
  ratio: number;
  low: number;
  high: number;
  /** Central share of the resampled ratios between low and high (0.9 by default). */
  level: number;
}

/**
 * The ratio of the medians, and a bootstrap interval for it. Turn i of both legs ran back
 * to back, under the same load, so turns are resampled in pairs.
 */
export function medianRatioInterval(
  ours: readonly number[],
  base: readonly number[],
  opts: { resamples?: number; level?: number; seed?: number } = {},
): RatioInterval {
  if (ours.length === 0 || ours.length !== base.length)
    throw new Error(`need the same number of turns on both legs, got ${ours.length} and ${base.length}`);
  const resamples = opts.resamples ?? 2_000;
  const level = opts.level ?? 0.9;
  const random = seeded(opts.seed ?? 1);
  const n = ours.length;
  const ratios: number[] = [];
  const a: number[] = new Array(n);
  const b: number[] = new Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) {
      const j = Math.floor(random() * n);
      a[i] = ours[j] as number;
      b[i] = base[j] as number;
    }
    ratios.push(percentile(a, 50) / percentile(b, 50));
  }
  const tail = ((1 - level) / 2) * 100;
  return {
    ratio: percentile(ours, 50) / percentile(base, 50),
    low: percentile(ratios, tail),
    high: percentile(ratios, 100 - tail),
    level,
  };
}
