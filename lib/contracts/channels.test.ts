import { describe, expect, it } from "vitest";
import { canSubscribeToChat, parseChannel } from "./channels";
import { newId } from "./ids";

const sub = "3f1c2a9e-0000-4000-8000-000000000001";

describe("canSubscribeToChat", () => {
  it.each([
    [`/chat/${sub}`, true],
    [`/chat/${sub}/status`, true],
    [`/chat/${sub}/abc123`, true],
    [`/chat/${sub}/*`, true],
    ["/chat/*", false],
    ["/chat", false],
    [`/chat/${sub}evil/x`, false],
    [`/chat/${sub}-evil/x`, false],
    ["/chat/someone-else/x", false],
    [`/agent/${sub}`, false],
  ])("%s -> %s", (path, allowed) => {
    expect(canSubscribeToChat(sub, path)).toBe(allowed);
  });

  it("denies an empty or malformed sub", () => {
    expect(canSubscribeToChat("", "/chat//x")).toBe(false);
    expect(canSubscribeToChat("a/b", "/chat/a/b/x")).toBe(false);
  });
});

describe("parseChannel", () => {
  it("accepts up to five segments and a trailing wildcard when subscribing", () => {
    expect(parseChannel("/chat/a/b/c/d", { allowWildcard: false }).ok).toBe(true);
    expect(parseChannel("/chat/a/*", { allowWildcard: true }).ok).toBe(true);
  });
  it("rejects six segments, wildcards on publish, bad characters and long segments", () => {
    expect(parseChannel("/chat/a/b/c/d/e", { allowWildcard: false }).ok).toBe(false);
    expect(parseChannel("/chat/a/*", { allowWildcard: false }).ok).toBe(false);
    expect(parseChannel("/chat/a_b", { allowWildcard: false }).ok).toBe(false);
    expect(parseChannel(`/chat/${"x".repeat(51)}`, { allowWildcard: false }).ok).toBe(false);
    expect(parseChannel("chat/a", { allowWildcard: false }).ok).toBe(false);
    expect(parseChannel("/chat/*/a", { allowWildcard: true }).ok).toBe(false);
  });
});

describe("newId", () => {
  it("sorts by creation time and fits a channel segment", () => {
    const a = newId(1_700_000_000_000);
    const b = newId(1_700_000_000_001);
    expect(a < b).toBe(true);
    expect(a).toMatch(/^[a-z0-9]{26}$/);
  });
});
