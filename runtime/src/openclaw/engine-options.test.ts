import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { childNodeFlags, v8PoolSizeFor, warmUpSessionKey } from "./openclaw-engine";

describe("the OpenClaw child's Node flags", () => {
  it("sizes V8's background pool one below the CPUs, at least one", () => {
    expect(v8PoolSizeFor(1)).toBe(1);
    expect(v8PoolSizeFor(2)).toBe(1);
    expect(v8PoolSizeFor(4)).toBe(3);
    expect(v8PoolSizeFor(16)).toBe(15);
    expect(v8PoolSizeFor(0)).toBe(1);
  });

  it("passes the pool size, sized to the machine unless given", () => {
    expect(childNodeFlags(2)).toEqual(["--max-semi-space-size=64", "--v8-pool-size=2"]);
    expect(childNodeFlags()).toEqual([
      "--max-semi-space-size=64",
      `--v8-pool-size=${v8PoolSizeFor(availableParallelism())}`,
    ]);
  });

  it("refuses a pool size Node would misread", () => {
    // Node reads 0 as "choose for me"; a fraction or a negative number is a mistake.
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => childNodeFlags(bad)).toThrow(/v8PoolSize/);
  });
});

describe("the warm-up session", () => {
  it("is one per UTC day, never a conversation's", () => {
    expect(warmUpSessionKey(new Date("2026-11-28T00:00:00Z"))).toBe("warmup-2026-11-28");
    expect(warmUpSessionKey(new Date("2026-11-28T23:59:59.999Z"))).toBe("warmup-2026-11-28");
    expect(warmUpSessionKey(new Date("2026-11-29T00:00:00Z"))).toBe("warmup-2026-11-29");
    // The runner's conversations are `conv-<id>`.
    expect(warmUpSessionKey()).toMatch(/^warmup-\d{4}-\d{2}-\d{2}$/);
  });
});
