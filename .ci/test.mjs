// `npm test`: lint, type-check, unit and integration tests (vitest), browser tests
// (Playwright in Debian's chromium), then one summary line. Exits non-zero if any step failed.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const out = join(root, "test-results");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const only = process.argv.slice(2);
const steps = [];
let passed = 0;
let failed = 0;
let skipped = 0;

function run(name, cmd, args, env = {}) {
  if (only.length > 0 && !only.includes(name)) return null;
  console.log(`\n== ${name}: ${cmd} ${args.join(" ")}`);
  const started = Date.now();
  const res = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
  const ok = res.status === 0;
  steps.push({ name, ok, seconds: Math.round((Date.now() - started) / 1000) });
  return ok;
}

const npx = "npx";

// Lint and types are steps, counted once each.
for (const [name, args] of [
  ["lint", ["biome", "check", "."]],
  ["typecheck", ["tsc", "--noEmit", "-p", "tsconfig.json"]],
]) {
  const ok = run(name, npx, args);
  if (ok === true) passed++;
  else if (ok === false) failed++;
}

const vitestJson = join(out, "vitest.json");
const vitestOk = run("vitest", npx, [
  "vitest",
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${vitestJson}`,
]);
if (vitestOk !== null) {
  if (existsSync(vitestJson)) {
    const r = JSON.parse(readFileSync(vitestJson, "utf8"));
    passed += r.numPassedTests ?? 0;
    failed += r.numFailedTests ?? 0;
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    // A suite that failed to load has no tests to count but is a failure all the same.
    if (!vitestOk && (r.numFailedTests ?? 0) === 0) failed++;
  } else if (!vitestOk) failed++;
}

const pwJson = join(out, "playwright.json");
if (existsSync(join(root, "playwright.config.ts"))) {
  const pwOk = run("e2e", npx, ["playwright", "test", "--reporter=list,json"], {
    PLAYWRIGHT_JSON_OUTPUT_NAME: pwJson,
  });
  if (pwOk !== null) {
    if (existsSync(pwJson)) {
      const s = JSON.parse(readFileSync(pwJson, "utf8")).stats ?? {};
      passed += (s.expected ?? 0) + (s.flaky ?? 0);
      failed += s.unexpected ?? 0;
      skipped += s.skipped ?? 0;
      if (!pwOk && (s.unexpected ?? 0) === 0) failed++;
    } else if (!pwOk) failed++;
  }
}

console.log("\n== steps");
for (const s of steps) console.log(`   ${s.ok ? "ok  " : "FAIL"} ${s.name} (${s.seconds}s)`);
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || steps.some((s) => !s.ok) ? 1 : 0);
