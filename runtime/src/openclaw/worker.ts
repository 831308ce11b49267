/*
 * The OpenClaw worker: a child process of the runtime with a clean environment (no AWS
 * credentials, no bot token). It imports OpenClaw in-process and runs turns with the
 * public `getReplyFromConfig`, which is about 2.5x faster to the first token than starting
 * `openclaw gateway run` (see docs/adr/0004-openclaw-engine.md). It talks to the engine over
 * Node's IPC channel with the messages in ./protocol.
 */
import { existsSync } from "node:fs";
import { extname, join } from "node:path";
import { clearInlineKeyPauses, inlineKeyPause, type KeyPauseReason } from "./key-pause";
import { prewarmWorkerPools } from "./prewarm";
import { type FromWorker, type ToWorker, toWorkerSchema } from "./protocol";
import { fastResolveRoots, installResolveFastPath, preloadInOpenClawThreads } from "./resolve-fast-path";

const startedAt = performance.now();
const since = () => Math.round(performance.now() - startedAt);

function send(message: FromWorker): void {
  process.send?.(message);
}

if (!process.send) {
  console.error("openclaw worker: must be started by the engine with an IPC channel");
  process.exit(2);
}

type OpenClaw = typeof import("openclaw");
type OpenClawConfig = ReturnType<OpenClaw["loadConfig"]>;
type ReplyResult = Awaited<ReturnType<OpenClaw["getReplyFromConfig"]>>;

let openclaw: OpenClaw;
let config: OpenClawConfig;
const runs = new Map<string, AbortController>();
let shuttingDown = false;

type UpdateAuthStore = typeof import("openclaw/plugin-sdk/provider-auth")["updateAuthProfileStoreWithLock"];
let authStoreUpdate: Promise<UpdateAuthStore> | undefined;
/** The plugin SDK's store updater, imported on first use: most of it loads with the first turn anyway. */
function updateAuthStore(): Promise<UpdateAuthStore> {
  authStoreUpdate ??= import("openclaw/plugin-sdk/provider-auth").then(
    (m) => m.updateAuthProfileStoreWithLock,
  );
  return authStoreUpdate;
}
/** The agent folder whose database holds OpenClaw's auth state (./config writes its settings next to it). */
const agentDir = join(process.env.OPENCLAW_STATE_DIR ?? ".", "agents", "main", "agent");

/**
 * Lifts OpenClaw's pause on the provider keys (./key-pause.ts). Done when the config is
 * (re)loaded: the config then holds the key the user saved last, which a pause recorded
 * for an earlier key (or in an earlier process; the pause is persisted) must not block.
 */
async function liftKeyPauses(): Promise<void> {
  const update = await updateAuthStore();
  let lifted = false;
  const store = await update({
    agentDir,
    updater: (store) => {
      lifted = clearInlineKeyPauses(store.usageStats);
      return lifted;
    },
  });
  if (store === null) console.error("openclaw worker: could not lift the provider key pauses");
  else
    console.error(`openclaw worker: provider key pauses ${lifted ? "lifted" : "checked"} at ${since()} ms`);
}
/** Runs wait for the latest lifting of key pauses, so none starts against a stale pause. */
let keysLifted: Promise<void> = Promise.resolve();
function startLiftingKeyPauses(): Promise<void> {
  keysLifted = liftKeyPauses().catch((err: unknown) =>
    console.error(`openclaw worker: could not lift the provider key pauses: ${(err as Error).message}`),
  );
  return keysLifted;
}

/** After a failed run: whether OpenClaw holds the provider's key back, which its reply does not say. */
async function keyPauseOf(providerId: string): Promise<KeyPauseReason | undefined> {
  let reason: KeyPauseReason | undefined;
  try {
    const update = await updateAuthStore();
    await update({
      agentDir,
      updater: (store) => {
        reason = inlineKeyPause(store.usageStats, providerId, Date.now());
        return false;
      },
    });
  } catch (err) {
    console.error(`openclaw worker: could not read the provider key state: ${(err as Error).message}`);
  }
  return reason;
}

/** OpenClaw answers an aborted or deliberately silent turn with this token. */
const SILENT_REPLY = "NO_REPLY";

function replyText(result: ReplyResult): { text: string; isError: boolean } {
  const payloads = result === undefined ? [] : Array.isArray(result) ? result : [result];
  const texts: string[] = [];
  let isError = false;
  for (const p of payloads) {
    if (p.isError) isError = true;
    const t = p.text?.trim();
    if (t && t !== SILENT_REPLY) texts.push(t);
  }
  return { text: texts.join("\n\n"), isError };
}

async function runTurn(msg: Extract<ToWorker, { type: "run" }>): Promise<void> {
  const controller = new AbortController();
  runs.set(msg.runId, controller);
  // Nothing of a run goes out once it is aborted, whatever OpenClaw still reports.
  const emit = (event: Extract<FromWorker, { type: "event" }>["event"]) => {
    if (!controller.signal.aborted) send({ type: "event", runId: msg.runId, event });
  };

  // OpenClaw reports the text of the current assistant message so far; the engine wants
  // only what was appended. A new assistant message (after a tool call) starts a new segment.
  let segment = "";
  let emittedAny = false;
  let newSegment = false;
  const onText = (text: string | undefined) => {
    if (text === undefined || text === SILENT_REPLY || SILENT_REPLY.startsWith(text)) return;
    let appended: string;
    if (!newSegment && text.startsWith(segment)) {
      appended = text.slice(segment.length);
    } else {
      appended = (emittedAny ? "\n\n" : "") + text;
      newSegment = false;
    }
    segment = text;
    if (appended.length === 0) return;
    emittedAny = true;
    emit({ type: "delta", text: appended });
  };

  const toolStatus = new Map<string, "running" | "done" | "error">();
  emit({ type: "phase", phase: "preparing_context" });
  try {
    await keysLifted;
    const result = await openclaw.getReplyFromConfig(
      {
        Body: msg.text,
        BodyForAgent: msg.text,
        BodyForCommands: msg.text,
        RawBody: msg.text,
        CommandBody: msg.text,
        SessionKey: msg.sessionKey,
        // Slash commands from chat text are not interpreted: the user talks to the agent only.
        CommandAuthorized: false,
      },
      {
        runId: msg.runId,
        abortSignal: controller.signal,
        ...(msg.timeoutSeconds ? { timeoutOverrideSeconds: msg.timeoutSeconds } : {}),
        onAgentRunStart: () => {
          if (msg.stopBeforeModel) controller.abort();
          emit({ type: "phase", phase: "starting_model" });
          return undefined;
        },
        onAssistantMessageStart: () => {
          if (segment.length > 0) newSegment = true;
        },
        onPartialReply: (payload) => {
          onText(payload.text);
        },
        onItemEvent: (item) => {
          if (item.kind !== "tool" || !item.toolCallId) return;
          const status =
            item.status === "completed" || item.phase === "end"
              ? item.status === "failed" || item.status === "error"
                ? "error"
                : "done"
              : item.status === "failed" || item.status === "error"
                ? "error"
                : "running";
          if (toolStatus.get(item.toolCallId) === status) return;
          toolStatus.set(item.toolCallId, status);
          emit({
            type: "tool",
            toolCallId: item.toolCallId,
            name: item.name ?? "tool",
            status,
            ...(item.title || item.summary ? { summary: item.summary ?? item.title } : {}),
          });
        },
      },
      config,
    );
    const { text, isError } = replyText(result);
    const aborted = controller.signal.aborted;
    const keyPaused = isError && !aborted ? await keyPauseOf(msg.providerId) : undefined;
    send({ type: "done", runId: msg.runId, text, isError, aborted, ...(keyPaused ? { keyPaused } : {}) });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    if (controller.signal.aborted) {
      send({ type: "done", runId: msg.runId, text: "", isError: false, aborted: true });
    } else {
      const keyPaused = await keyPauseOf(msg.providerId);
      send({
        type: "failed",
        runId: msg.runId,
        name: e.name,
        message: e.message,
        ...(keyPaused ? { keyPaused } : {}),
      });
    }
  } finally {
    runs.delete(msg.runId);
  }
}

async function shutdown(): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  for (const c of runs.values()) c.abort();
  // Let aborted runs write their transcripts before the process (and its SQLite handles) go.
  const deadline = Date.now() + 5_000;
  while (runs.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  process.exit(0);
}

process.on("message", (raw) => {
  const parsed = toWorkerSchema.safeParse(raw);
  if (!parsed.success) {
    console.error(`openclaw worker: ignored a malformed message: ${parsed.error.message}`);
    return;
  }
  const msg = parsed.data;
  switch (msg.type) {
    case "run":
      if (shuttingDown) {
        send({ type: "failed", runId: msg.runId, name: "ShuttingDown", message: "the agent is stopping" });
        return;
      }
      void runTurn(msg);
      return;
    case "abort":
      runs.get(msg.runId)?.abort();
      return;
    case "reload":
      try {
        config = openclaw.loadConfig({ pin: false });
      } catch (err) {
        send({ type: "fatal", message: `could not load the OpenClaw config: ${(err as Error).message}` });
        return;
      }
      void startLiftingKeyPauses().then(() => send({ type: "reloaded" }));
      return;
    case "shutdown":
      void shutdown();
      return;
  }
});
// The engine went away: do not linger as an orphan.
process.on("disconnect", () => void shutdown());
process.on("SIGTERM", () => void shutdown());

const openclawEntry = import.meta.resolve("openclaw");
const openclawDist = new URL("./", openclawEntry);
// Before anything of OpenClaw's is imported (./resolve-fast-path.ts): for this thread, and
// through a preload bundled next to this file, for the worker threads OpenClaw starts.
// OPENCLAW_WORKER_FAST_RESOLVE and OPENCLAW_WORKER_PREWARM (below) are "0" only when the
// cold-start benchmark measures a start without the measure (EngineBenchHooks).
const fastResolve =
  process.env.OPENCLAW_WORKER_FAST_RESOLVE !== "0" && installResolveFastPath(fastResolveRoots(openclawEntry));
const threadPreload = new URL(`./openclaw-thread-preload${extname(import.meta.url)}`, import.meta.url);
const inThreads = fastResolve && existsSync(threadPreload);
if (inThreads) preloadInOpenClawThreads(openclawDist, threadPreload.href);
console.error(
  `openclaw worker: resolve fast path ${fastResolve ? (inThreads ? "on, OpenClaw's threads too" : "on, main thread only") : "off"}`,
);

// OpenClaw's first turn waits on worker threads it starts one after another; the ones that
// need no state start now, alongside the import below (see ./prewarm.ts). Not awaited.
const stateDir = process.env.OPENCLAW_STATE_DIR;
if (stateDir && process.env.OPENCLAW_WORKER_PREWARM !== "0") {
  void prewarmWorkerPools(openclawDist, stateDir, (line) => console.error(`openclaw worker: ${line}`)).then(
    ({ started }) =>
      console.error(`openclaw worker: prewarmed ${started.join(", ") || "nothing"} at ${since()} ms`),
  );
}

try {
  openclaw = await import("openclaw");
  send({ type: "stage", stage: "import", ms: since() });
  config = openclaw.loadConfig();
  send({ type: "stage", stage: "config", ms: since() });
  send({ type: "ready" });
  // After "ready": the first run waits for it (see runTurn), the start-up does not.
  void startLiftingKeyPauses();
} catch (err) {
  send({ type: "fatal", message: `OpenClaw failed to start: ${(err as Error).message}` });
  process.exit(1);
}
