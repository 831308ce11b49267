import { randomUUID } from "node:crypto";

/** A fresh Cognito-like sub per test, so tests sharing one store never see each other's rows. */
export function newUserId(): string {
  return randomUUID();
}

/** ISO time `offsetMs` from a fixed base, so ordering never depends on the wall clock. */
export function isoAt(offsetMs: number, base = Date.parse("2026-01-01T00:00:00.000Z")): string {
  return new Date(base + offsetMs).toISOString();
}
