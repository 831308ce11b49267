/*
 * The browser's side of `bench:chat` in a process of its own: it POSTs a message to the
 * app and watches the user's channels the way the chat page does, so that none of that
 * work runs on the runtime's event loop (in AWS the browser is not in the runtime's task).
 *
 *   startChatClient(opts) → { pid, turn(text, conversationId?), stop() }
 *
 * Times are `process.hrtime` in milliseconds: CLOCK_MONOTONIC, the same clock in every
 * process of the machine, so the parent can line them up with the runtime's own.
 */
import { type ChildProcess, fork } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { stopChild } from "../e2e/support/cloud-process";

export interface ClientOptions {
  appUrl: string;
  httpEndpoint: string;
  realtimeEndpoint: string;
  region: string;
  userSub: string;
  accessToken: string;
}

/** One turn as the client saw it; times in ms on the shared monotonic clock. */
export interface ClientTurn {
  conversationId: string;
  messageId: string;
  /** When the POST was sent. */
  t0: number;
  /** When its 202 arrived. */
  answered: number;
  /** run.started of this message's run, and its first delta, at the subscriber. */
  started: number;
  firstDelta: number;
}

type ToChild = { type: "turn"; text: string; conversationId?: string };
type FromChild = { type: "ready" } | { type: "turn"; turn: ClientTurn } | { type: "failed"; message: string };

const self = fileURLToPath(import.meta.url);

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export interface ChatClient {
  pid: number;
  turn(text: string, conversationId?: string): Promise<ClientTurn>;
  stop(): Promise<void>;
}

export async function startChatClient(opts: ClientOptions): Promise<ChatClient> {
  const tsx = createRequire(import.meta.url).resolve("tsx/cli");
  const child: ChildProcess = fork(tsx, [self, "--child"], {
    env: { ...process.env, BENCH_CLIENT: JSON.stringify(opts) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const next = () =>
    new Promise<FromChild>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the bench client exited with ${code}`));
      child.once("exit", onExit);
      child.once("message", (m: FromChild) => {
        child.off("exit", onExit);
        resolve(m);
      });
    });
  const first = await next();
  if (first.type !== "ready")
    throw new Error(`bench client: ${first.type === "failed" ? first.message : first.type}`);
  let chain: Promise<unknown> = Promise.resolve();
  return {
    pid: child.pid as number,
    turn: (text, conversationId) => {
      const result = chain.then(async () => {
        const reply = next();
        child.send({ type: "turn", text, ...(conversationId ? { conversationId } : {}) } satisfies ToChild);
        const m = await reply;
        if (m.type !== "turn") throw new Error(`bench client: ${m.type === "failed" ? m.message : m.type}`);
        return m.turn;
      });
      chain = result.catch(() => undefined);
      return result;
    },
    stop: () => stopChild(child, 5_000),
  };
}

async function child(): Promise<void> {
  const { AppSyncEventsSubscriber } = await import("../lib/aws/appsync-events-subscriber");
  const { chatEventSchema, newId } = await import("../lib/contracts");
  const send = (m: FromChild) => process.send?.(m);
  const opts = JSON.parse(process.env.BENCH_CLIENT as string) as ClientOptions;
  const subscriber = new AppSyncEventsSubscriber({
    httpEndpoint: opts.httpEndpoint,
    realtimeEndpoint: opts.realtimeEndpoint,
    region: opts.region,
    auth: { type: "userPool", token: () => opts.accessToken },
  });
  type Event = ReturnType<typeof chatEventSchema.parse>;
  let listener: ((e: Event) => void) | undefined;
  const sub = await subscriber.subscribe(`/chat/${opts.userSub}/*`, (raw) => {
    const parsed = chatEventSchema.safeParse(raw);
    if (parsed.success) listener?.(parsed.data);
  });
  const stop = () =>
    void sub
      .close()
      .then(() => subscriber.close())
      .finally(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("disconnect", stop);

  const turn = async (text: string, conversationId?: string): Promise<ClientTurn> => {
    const early: Event[] = [];
    let messageId: string | undefined;
    let runId: string | undefined;
    let started = 0;
    let firstDelta = 0;
    let settle!: (error?: string) => void;
    const done = new Promise<void>((resolve, reject) => {
      settle = (error) => (error ? reject(new Error(error)) : resolve());
    });
    const onEvent = (e: Event) => {
      if (!messageId) {
        early.push(e);
        return;
      }
      if (e.type === "run.started" && e.replyTo === messageId) {
        runId = e.runId;
        started = nowMs();
      }
      if (e.type === "delta" && e.runId === runId && firstDelta === 0) firstDelta = nowMs();
      if (e.type === "final" && e.message.replyTo === messageId) settle();
      if (e.type === "error" && e.replyTo === messageId) settle(`the turn failed: ${e.code} ${e.message}`);
    };
    listener = onEvent;
    const t0 = nowMs();
    const res = await fetch(`${opts.appUrl}/api/chat`, {
      method: "POST",
      headers: { authorization: `Bearer ${opts.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ text, idempotencyKey: newId(), ...(conversationId ? { conversationId } : {}) }),
    });
    const answered = nowMs();
    if (res.status !== 202) throw new Error(`POST /api/chat: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { conversationId: string; messageId: string };
    messageId = body.messageId;
    for (const e of early.splice(0)) onEvent(e);
    const timeout = setTimeout(() => settle("no final within 120 s"), 120_000);
    try {
      await done;
    } finally {
      clearTimeout(timeout);
      listener = undefined;
    }
    if (firstDelta === 0) throw new Error("the turn finished without a delta");
    return { conversationId: body.conversationId, messageId, t0, answered, started, firstDelta };
  };

  process.on("message", (m: ToChild) => {
    if (m.type !== "turn") return;
    turn(m.text, m.conversationId).then(
      (t) => send({ type: "turn", turn: t }),
      (err: unknown) => send({ type: "failed", message: err instanceof Error ? err.message : String(err) }),
    );
  });
  send({ type: "ready" });
}

if (process.argv.includes("--child") && process.argv[1] === self) {
  await child().catch((err: unknown) => {
    process.send?.({ type: "failed", message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  });
}
