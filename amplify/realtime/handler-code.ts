import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import { SEGMENT_PATTERN } from "../../lib/contracts/ids";
import { errorMessage } from "../../lib/errors";

/*
 * Builds the APPSYNC_JS code of the `chat` namespace from chat-handler.ts and the real
 * lib/contracts/channels.ts. channels.ts imports SEGMENT_PATTERN from ids.ts, which also
 * builds zod schemas at load time; zod cannot run in APPSYNC_JS and esbuild cannot drop
 * those calls. So the build runs on copies in a scratch folder where ids.ts is replaced by
 * a module holding only the live SEGMENT_PATTERN value. If channels.ts ever needs more
 * than that, the build fails here, at synth, instead of in AppSync.
 */

const here = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));

/** The bundled handler source, as AppSync receives it. */
export function buildChatHandlerCode(): string {
  const dir = mkdtempSync(join(tmpdir(), "openclaw-chat-handler-"));
  try {
    mkdirSync(join(dir, "lib/contracts"), { recursive: true });
    mkdirSync(join(dir, "amplify/realtime"), { recursive: true });
    copyFileSync(here("../../lib/contracts/channels.ts"), join(dir, "lib/contracts/channels.ts"));
    writeFileSync(
      join(dir, "lib/contracts/ids.ts"),
      `export const SEGMENT_PATTERN = ${String(SEGMENT_PATTERN)};\n`,
    );
    copyFileSync(here("./chat-handler.ts"), join(dir, "amplify/realtime/chat-handler.ts"));
    const result = buildSync({
      entryPoints: [join(dir, "amplify/realtime/chat-handler.ts")],
      bundle: true,
      format: "esm",
      platform: "neutral",
      // Keeps ?. and ?? (APPSYNC_JS has them) and down-levels nothing else it lacks.
      target: "es2020",
      external: ["@aws-appsync/utils"],
      write: false,
      logLevel: "silent",
      legalComments: "none",
    });
    const file = result.outputFiles[0];
    if (!file) throw new Error("esbuild produced no output for the chat handler");
    // esbuild marks each module with a `// <path>` comment; the scratch path would make the
    // code differ on every synth (and redeploy the namespace each time).
    const code = file.text.replace(/^\/\/ .*\n/gm, "").replace(/\n{3,}/g, "\n\n");
    assertAppSyncJsSubset(code);
    return code;
  } catch (err) {
    throw new Error(
      `could not build the chat onSubscribe handler from lib/contracts/channels.ts: ${errorMessage(err)}`,
      { cause: err },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A coarse check for syntax the APPSYNC_JS runtime rejects (docs: "Supported runtime
 * features"): classic for loops, ++/--, try/catch/throw, while, classes, async, and any
 * import other than @aws-appsync/utils. It catches a changed channels.ts at synth time.
 */
export function assertAppSyncJsSubset(code: string): void {
  const body = code.replace(/^\s*\/\/.*$/gm, "");
  const rules: [RegExp, string][] = [
    [/\bfor\s*\([^)]*;/, "for(;;) loops"],
    [/\+\+|--/, "++ or --"],
    [
      /\b(try|catch|finally|throw|while|do|class|async|await|continue|new\s+Promise)\b/,
      "unsupported statement",
    ],
    [/\bimport\b(?![^;]*from\s*["']@aws-appsync\/utils["'])/, "imports other than @aws-appsync/utils"],
  ];
  for (const [pattern, what] of rules) {
    const m = pattern.exec(body);
    if (m) throw new Error(`APPSYNC_JS does not support ${what}: "${m[0]}"`);
  }
}
