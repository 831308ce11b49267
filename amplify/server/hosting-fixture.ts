import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nextjsAdapter } from "@aws-amplify/hosting/adapters";
import { AmplifyHostingConstruct } from "@aws-amplify/hosting/constructs";
import { App, Stack } from "aws-cdk-lib";
import type { AmplifyOutputs } from "../outputs";
import { attachServerAccess, serverHostingProps } from "./hosting-config";

/*
 * The cheapest honest offline check of the hosting stack. A real `ampx deploy` runs
 * `next build` and OpenNext (about a minute here) before it synthesizes; this writes the
 * shape of OpenNext's output instead (.open-next/open-next.output.json, the server and
 * image-optimization bundles, the ISR cache folders) and runs the REAL Next.js adapter on
 * it with skipBuild, then the REAL hosting construct with the same props hosting.ts uses.
 * What it does not check: that our app builds under OpenNext (the e2e/build steps do).
 */

const OPEN_NEXT_OUTPUT = {
  edgeFunctions: {},
  origins: {
    s3: { type: "s3", originPath: "_assets", copy: [] },
    imageOptimizer: {
      type: "function",
      handler: "index.handler",
      bundle: ".open-next/image-optimization-function",
      streaming: false,
    },
    default: {
      type: "function",
      handler: "index.handler",
      bundle: ".open-next/server-functions/default",
      streaming: true,
    },
  },
  behaviors: [
    { pattern: "_next/image*", origin: "imageOptimizer" },
    { pattern: "_next/data/*", origin: "default" },
    { pattern: "api/*", origin: "default" },
    { pattern: "*", origin: "default" },
    { pattern: "BUILD_ID", origin: "s3" },
    { pattern: "_next/*", origin: "s3" },
  ],
  additionalProps: { disableIncrementalCache: false, disableTagCache: false },
};

/** Writes a minimal OpenNext build output for a Next.js app into `projectDir`. */
export function writeOpenNextFixture(projectDir: string): void {
  const on = join(projectDir, ".open-next");
  const files: Record<string, string> = {
    "package.json": JSON.stringify({ name: "fixture", private: true, dependencies: { next: "16.4.6" } }),
    ".open-next/open-next.output.json": JSON.stringify(OPEN_NEXT_OUTPUT),
    ".open-next/server-functions/default/index.mjs":
      "export const handler = async () => ({ statusCode: 200 });\n",
    ".open-next/image-optimization-function/index.mjs":
      "export const handler = async () => ({ statusCode: 200 });\n",
    ".open-next/revalidation-function/index.mjs": "export const handler = async () => {};\n",
    ".open-next/assets/_next/static/chunks/main.js": "console.log('app');\n",
    ".open-next/assets/BUILD_ID": "fixture\n",
    ".open-next/cache/fixture/index.cache": "{}\n",
  };
  for (const [rel, body] of Object.entries(files)) {
    const file = join(projectDir, rel);
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, body);
  }
  void on;
}

/**
 * Synthesizes the hosting construct for a fixture app with `outputs` as amplify_outputs.json.
 * Returns the stack; the caller reads templates with Template.fromStack or the assembly.
 */
export function synthHostingFixture(outputs: AmplifyOutputs, region = "us-east-1") {
  const projectDir = mkdtempSync(join(tmpdir(), "openclaw-hosting-app-"));
  try {
    writeOpenNextFixture(projectDir);
    const manifest = nextjsAdapter({ projectDir, skipBuild: true });
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), "openclaw-hosting-out-")) });
    const stack = new Stack(app, "hosting", { env: { region } });
    new AmplifyHostingConstruct(stack, "amplifyHosting", { manifest, ...serverHostingProps(outputs) });
    attachServerAccess(stack, outputs);
    const assembly = app.synth();
    return { app, stack, assembly, projectDir };
  } finally {
    // The construct staged the bundles into the assembly during synth; the fixture can go.
    rmSync(projectDir, { recursive: true, force: true });
  }
}
