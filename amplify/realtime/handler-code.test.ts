import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canSubscribeToChat } from "../../lib/contracts/channels";
import { assertAppSyncJsSubset, buildChatHandlerCode } from "./handler-code";

/*
 * Runs the exact code AppSync receives (ESM importing @aws-appsync/utils) in Node, with a
 * stand-in for that module whose util.unauthorized() throws like AppSync's does.
 */

const sub = "3f1c2a9e-0000-4000-8000-000000000001";

/** The cases of lib/contracts/channels.test.ts, plus what only the handler sees. */
const CASES: [string, string | undefined, boolean][] = [
  [`/chat/${sub}`, sub, true],
  [`/chat/${sub}/status`, sub, true],
  [`/chat/${sub}/abc123`, sub, true],
  [`/chat/${sub}/*`, sub, true],
  ["/chat/*", sub, false],
  ["/chat", sub, false],
  [`/chat/${sub}evil/x`, sub, false],
  [`/chat/${sub}-evil/x`, sub, false],
  ["/chat/someone-else/x", sub, false],
  [`/agent/${sub}`, sub, false],
  // channels.test.ts: "denies an empty or malformed sub"
  ["/chat//x", "", false],
  ["/chat/a/b/x", "a/b", false],
  // An identity without a sub (IAM or a malformed token) never passes.
  [`/chat/${sub}`, undefined, false],
];

let dir: string;
let code: string;
let onSubscribe: (ctx: unknown) => void;

beforeAll(async () => {
  code = buildChatHandlerCode();
  dir = mkdtempSync(join(tmpdir(), "openclaw-handler-test-"));
  const utils = join(dir, "node_modules/@aws-appsync/utils");
  mkdirSync(utils, { recursive: true });
  writeFileSync(
    join(utils, "package.json"),
    JSON.stringify({ name: "@aws-appsync/utils", type: "module", exports: "./index.js" }),
  );
  writeFileSync(
    join(utils, "index.js"),
    'export const util = { unauthorized() { throw Object.assign(new Error("Unauthorized"), { unauthorized: true }); } };\n',
  );
  writeFileSync(join(dir, "handler.mjs"), code);
  ({ onSubscribe } = await import(/* @vite-ignore */ pathToFileURL(join(dir, "handler.mjs")).href));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function allowed(path: string, identitySub: string | undefined): boolean {
  try {
    onSubscribe({
      identity: identitySub === undefined ? {} : { sub: identitySub },
      info: { channel: { path } },
    });
    return true;
  } catch (err) {
    if ((err as { unauthorized?: boolean }).unauthorized) return false;
    throw err;
  }
}

describe("the chat onSubscribe handler AppSync runs", () => {
  it.each(CASES)("%s as %s -> %s", (path, identitySub, expected) => {
    expect(allowed(path, identitySub)).toBe(expected);
    if (identitySub !== undefined) expect(canSubscribeToChat(identitySub, path)).toBe(expected);
  });

  it("denies a context without identity", () => {
    expect(() => onSubscribe({ identity: null, info: { channel: { path: `/chat/${sub}` } } })).toThrow(
      "Unauthorized",
    );
  });

  it("is plain APPSYNC_JS: one import of @aws-appsync/utils, no zod, no loops", () => {
    expect(code.match(/\bimport\b/g)).toHaveLength(1);
    expect(code).not.toMatch(/zod|require\(/);
    expect(code).toMatch(/function canSubscribeToChat\(/);
  });

  it("is the same bytes on every build (no scratch paths)", () => {
    expect(buildChatHandlerCode()).toBe(code);
    expect(code).not.toContain(tmpdir());
  });
});

describe("assertAppSyncJsSubset", () => {
  it.each([
    ["for (let i = 0; i < 3; i++) {}", "for(;;)"],
    ["let i = 0; i++;", "++"],
    ["try { x(); } catch (e) {}", "unsupported statement"],
    ['import { z } from "zod";', "imports"],
    ["while (true) {}", "unsupported statement"],
  ])("rejects %s", (snippet, what) => {
    expect(() => assertAppSyncJsSubset(snippet)).toThrow(what);
  });

  it("accepts the generated handler", () => {
    expect(() => assertAppSyncJsSubset(code)).not.toThrow();
  });
});
