import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { distImportUrl } from "./resolve-fast-path";

const DIST = "file:///app/node_modules/openclaw/dist/";
const runtimeRoot = fileURLToPath(new URL("../../", import.meta.url));
const IMPORT = ["node", "import"];

describe("distImportUrl", () => {
  it("joins a relative import from one dist chunk to another", () => {
    expect(distImportUrl("./chunk-a1.mjs", `${DIST}index.js`, IMPORT, DIST)).toBe(`${DIST}chunk-a1.mjs`);
    expect(distImportUrl("../infra/errors.js", `${DIST}cli/run.js`, IMPORT, DIST)).toBe(
      `${DIST}infra/errors.js`,
    );
  });

  it("leaves everything else to Node's resolver", () => {
    const cases: Array<[string, string | undefined, readonly string[] | undefined]> = [
      ["zod", `${DIST}index.js`, IMPORT], // a bare package name
      ["node:fs", `${DIST}index.js`, IMPORT], // a built-in
      ["./x.mjs", "file:///app/dist/main.js", IMPORT], // a parent outside openclaw's dist
      ["./x.mjs", undefined, IMPORT], // the entry point
      ["../../package.json", `${DIST}index.js`, IMPORT], // not a module file
      ["../../x.mjs", `${DIST}a/b.mjs`, IMPORT], // leaves dist/
      ["./x.cjs", `${DIST}index.js`, IMPORT], // CommonJS
      ["./x.js?v=1", `${DIST}index.js`, IMPORT], // a query: Node's business
      ["./x.js", `${DIST}index.js`, ["node", "require"]], // require() of ESM
    ];
    for (const [specifier, parent, conditions] of cases)
      expect(distImportUrl(specifier, parent, conditions, DIST), specifier).toBeUndefined();
  });
});

describe("against Node's own resolver, with the pinned openclaw", () => {
  it("gives the very URL and format Node gives, for every import it shortens while OpenClaw loads", () => {
    // A plain Node child (no TypeScript loader: it would change resolution) resolves every
    // import the usual way and compares our answer with Node's, then imports OpenClaw.
    const script = `
      import { registerHooks } from "node:module";
      import { distImportUrl } from ${JSON.stringify(fileURLToPath(new URL("./resolve-fast-path.ts", import.meta.url)))};
      const root = new URL("./", import.meta.resolve("openclaw")).href;
      let same = 0;
      const diff = [];
      registerHooks({
        resolve(specifier, context, next) {
          const node = next(specifier, context);
          const ours = distImportUrl(specifier, context.parentURL, context.conditions, root);
          if (ours !== undefined) {
            if (ours === node.url && node.format === "module") same++;
            else diff.push({ specifier, parent: context.parentURL, node: node.url, format: node.format });
          }
          return node;
        },
      });
      const openclaw = await import("openclaw");
      openclaw.loadConfig();
      console.log(JSON.stringify({ same, diff: diff.slice(0, 5), diffs: diff.length }));
    `;
    const out = execFileSync(process.execPath, ["--no-warnings", "--input-type=module", "-e", script], {
      cwd: runtimeRoot,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        NODE_ENV: "production",
        OPENCLAW_CONFIG_PATH: "/nonexistent/openclaw.json",
      },
      encoding: "utf8",
      timeout: 120_000,
    });
    const result = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as {
      same: number;
      diffs: number;
      diff: unknown[];
    };
    expect(result.diff).toEqual([]);
    expect(result.diffs).toBe(0);
    // The import and loadConfig alone take the shortcut thousands of times.
    expect(result.same).toBeGreaterThan(1_000);
  }, 150_000);
});
