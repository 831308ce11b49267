import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/*
 * The repository's boundaries, checked on every tracked file: lib/ never reaches into the
 * UI, production code never loads test support, and nothing points at a document that is
 * not in the repository.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const SELF = "lib/boundaries.test.ts";
// Built from parts so that this file does not contain what it looks for.
const OUTSIDE_DOC = ["DESIGN", "md"].join(".");

const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
const TEST_FILE = /\.(test|spec)\.(ts|tsx)$/;
/** Folders that hold test support, tests or benchmarks only: they may use vitest and testing/. */
const TEST_ONLY = ["lib/testing/", "runtime/src/testing/", "e2e/", "bench/"];
/** The test runner's own configuration. */
const RUNNER_CONFIG = new Set(["vitest.config.ts"]);

function trackedFiles(): string[] {
  const out = execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" });
  return out
    .split("\0")
    .filter(Boolean)
    .filter((f) => existsSync(join(root, f)) && statSync(join(root, f)).isFile());
}

/** Module specifiers a source file loads (static and dynamic imports, re-exports, require). */
function specifiersOf(source: string): string[] {
  // Comments may quote imports; block comments and whole-line comments are dropped first.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const patterns = [
    /\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  return patterns.flatMap((p) => [...code.matchAll(p)].map((m) => m[1] as string));
}

/** The repository path a specifier points at, or undefined for a package. */
function resolveSpecifier(file: string, spec: string): string | undefined {
  if (spec.startsWith("@/")) return posix.normalize(spec.slice(2));
  if (spec.startsWith(".")) return posix.normalize(posix.join(posix.dirname(file), spec));
  return undefined;
}

function isProductionSource(file: string): boolean {
  return (
    SOURCE.test(file) &&
    !TEST_FILE.test(file) &&
    !RUNNER_CONFIG.has(file) &&
    !TEST_ONLY.some((dir) => file.startsWith(dir))
  );
}

/** `file → specifier` for each import that breaks a boundary. */
function violations(files: { path: string; source: string }[]) {
  const uiFromLib: string[] = [];
  const testSupportInProduction: string[] = [];
  for (const { path, source } of files) {
    if (!SOURCE.test(path)) continue;
    for (const spec of specifiersOf(source)) {
      const target = resolveSpecifier(path, spec);
      if (path.startsWith("lib/") && target && /^(app|components)(\/|$)/.test(target))
        uiFromLib.push(`${path} → ${spec}`);
      const testSupport =
        spec === "vitest" ||
        spec.startsWith("vitest/") ||
        (target !== undefined && /(^|\/)testing(\/|$)/.test(target));
      if (isProductionSource(path) && testSupport) testSupportInProduction.push(`${path} → ${spec}`);
    }
  }
  return { uiFromLib, testSupportInProduction };
}

describe("the checks themselves", () => {
  it("finds static, dynamic, re-exported and required imports, not quoted ones in comments", () => {
    const source = [
      'import { a } from "./a";',
      'import type { B } from "@/b";',
      'export { c } from "../c";',
      'import "./side-effect.css";',
      'const d = await import("./d");',
      'const e = require("e");',
      '// import { f } from "./f";',
      '/* import { g } from "./g"; */',
    ].join("\n");
    expect(specifiersOf(source)).toEqual(["./a", "@/b", "../c", "./d", "./side-effect.css", "e"]);
  });

  it("flags lib importing the UI, and production code importing vitest or a testing/ folder", () => {
    const found = violations([
      { path: "lib/services/x.ts", source: 'import { ApiError } from "@/components/chat/api";' },
      { path: "lib/aws/y.ts", source: 'import { z } from "../../app/api/chat/route";' },
      { path: "lib/aws/z.ts", source: 'import { afterAll } from "vitest";' },
      { path: "runtime/src/main.ts", source: 'import { helper } from "./testing/runner";' },
      {
        path: "lib/aws/z.test.ts",
        source: 'import { it } from "vitest";\nimport "../testing/dynamo-test-server";',
      },
      { path: "lib/testing/w.ts", source: 'import { beforeAll } from "vitest";' },
      { path: "components/chat/v.tsx", source: 'import type { Page } from "@/lib/ports";' },
    ]);
    expect(found.uiFromLib).toEqual([
      "lib/services/x.ts → @/components/chat/api",
      "lib/aws/y.ts → ../../app/api/chat/route",
    ]);
    expect(found.testSupportInProduction).toEqual([
      "lib/aws/z.ts → vitest",
      "runtime/src/main.ts → ./testing/runner",
    ]);
  });
});

describe("repository boundaries", () => {
  const files = trackedFiles();
  // This file's own examples above would match; it is a test file in any case.
  const sources = files
    .filter((f) => SOURCE.test(f) && f !== SELF)
    .map((path) => ({ path, source: readFileSync(join(root, path), "utf8") }));

  it("reads the tracked files", () => {
    expect(files).toContain("package.json");
    expect(sources.map((f) => f.path)).toContain("lib/errors.ts");
  });

  it("has no import from lib/ into app/ or components/", () => {
    expect(violations(sources).uiFromLib).toEqual([]);
  });

  it("has no production file that imports vitest or a testing/ folder", () => {
    expect(violations(sources).testSupportInProduction).toEqual([]);
  });

  it("points at no document outside the repository", () => {
    const needle = Buffer.from(OUTSIDE_DOC);
    const citing = files.filter((f) => f !== SELF && readFileSync(join(root, f)).includes(needle));
    expect(citing).toEqual([]);
  });
});
