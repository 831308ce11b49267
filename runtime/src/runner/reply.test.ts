import { describe, expect, it } from "vitest";
import type { PendingItem } from "../../../lib/contracts";
import { RERUN_NOTE, runText } from "./reply";

const item = (attempts: number): PendingItem => ({
  userId: "u1",
  id: "i1",
  conversationId: "c1",
  messageId: "m1",
  text: "Book the flight.",
  source: "web",
  enqueuedAt: "2030-01-01T00:00:00.000Z",
  attempts,
});

describe("runText", () => {
  it("is the message on its first attempt, and says tools may have run on every later one", () => {
    expect(runText(item(1))).toBe("Book the flight.");
    for (const attempts of [2, 3]) expect(runText(item(attempts))).toBe(`${RERUN_NOTE}\n\nBook the flight.`);
  });
});
