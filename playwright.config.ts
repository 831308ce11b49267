import { defineConfig } from "@playwright/test";

/*
 * Browser tests in Debian's chromium (never a downloaded browser), against the app as a
 * production build in local mode, the real runtime and OpenClaw, and the fake LLM. The
 * global setup starts everything on 127.0.0.1 and free ports; see e2e/global-setup.ts.
 * One worker: the tests share one agent runtime per user, and the machine has two cores.
 */
export default defineConfig({
  testDir: "e2e",
  testMatch: "**/*.spec.ts",
  globalSetup: "./e2e/global-setup.ts",
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  // A cold start of OpenClaw on a small machine takes tens of seconds.
  timeout: 240_000,
  expect: { timeout: 90_000 },
  outputDir: "test-results/e2e",
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    viewport: { width: 1280, height: 800 },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    actionTimeout: 30_000,
    navigationTimeout: 60_000,
  },
});
