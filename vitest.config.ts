import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { alias: { "@": fileURLToPath(new URL("./", import.meta.url)) } },
  test: {
    include: [
      "lib/**/*.test.ts",
      "app/**/*.test.ts",
      "amplify/**/*.test.ts",
      "ops/**/*.test.ts",
      "runtime/src/**/*.test.ts",
      "components/**/*.test.ts",
      "bench/*.test.ts",
    ],
    // The rest of e2e/ is Playwright's.
    exclude: ["**/node_modules/**", "e2e/*.spec.ts", "e2e/support/**", "e2e/fixtures/**", "e2e/pages/**"],
    environment: "node",
    // The real runtime's bundle, built once for every test file that starts it.
    globalSetup: ["runtime/src/testing/build-runtime.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Tests start real servers on 127.0.0.1; two cores do not gain from many workers.
    maxWorkers: 2,
  },
});
