/*
 * `npm run bench:load`: N users × M messages in local mode, every one answered exactly once?
 *
 * Starts the local cloud in a process of its own, a production build of the app (`next
 * start`), and the fake LLM; creates N users in cognito-local, points each one's settings
 * at the fake LLM (PUT /api/settings with a key), subscribes each to `/chat/<sub>/*` over
 * the AppSync Events WebSocket with its Cognito token (as the chat page does), then every
 * user sends M messages over HTTP (POST /api/chat) at the same time as the others. The app
 * launches one real runtime (a real OpenClaw) per user through the local launcher.
 *
 * Messages come in conversations of `--per-conversation` (5): the first starts a new
 * conversation, the rest follow in it, each sent once the previous one's final arrived,
 * except the third, which is followed at once by the fourth (queued behind it).
 *
 * Each message is judged (load-tally.ts) from the finals its user's subscriber saw and
 * what the store holds at the end (GET /api/conversations/<id>/messages): delivered, lost,
 * duplicated, failed. Prints those counts and p50/p99 of POST → final; exits non-zero
 * when a message was lost, duplicated or failed, or a POST was refused.
 *
 * The run is bounded: no message is sent once less than `--grace` seconds of the
 * `--minutes` budget are left, and whatever has not arrived when the budget ends is lost.
 * Everything listens on 127.0.0.1; what it started is stopped at the end, by pid.
 *
 * Options (flags, or env): --users (BENCH_USERS, 5), --messages (BENCH_MESSAGES, 20),
 * --minutes (BENCH_MINUTES, 5), --per-conversation (BENCH_PER_CONVERSATION, 5),
 * --grace (BENCH_GRACE_SECONDS, 60), --rebuild (build the app even if `.next/e2e` exists),
 * --keep (keep the temp folder with the runtimes' logs).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startFakeLlm } from "../e2e/fixtures/fake-llm";
import { buildApp, freePort, isRunning, startApp } from "../e2e/support/app-server";
import { startCloudProcess } from "../e2e/support/cloud-process";
import { createAdapters } from "../lib/adapters";
import { AppSyncEventsSubscriber } from "../lib/aws/appsync-events-subscriber";
import { type ChatEvent, chatEventSchema, newId } from "../lib/contracts";
import { configFromLocalCloud } from "../lib/env";
import { errorMessage } from "../lib/errors";
import { createTestUser, signInForTest } from "../lib/testing/services";
import { judge, type LiveFinal, type Outcome, type SentMessage, type StoredMessage } from "./load-tally";
import { percentile } from "./stats";

const { values: flags } = parseArgs({
  options: {
    users: { type: "string" },
    messages: { type: "string" },
    minutes: { type: "string" },
    "per-conversation": { type: "string" },
    grace: { type: "string" },
    rebuild: { type: "boolean" },
    keep: { type: "boolean" },
  },
});
const num = (flag: string | undefined, env: string | undefined, fallback: number) => {
  const n = Number(flag ?? env ?? fallback);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`not a positive number: ${flag ?? env}`);
  return n;
};
const USERS = num(flags.users, process.env.BENCH_USERS, 5);
const MESSAGES = num(flags.messages, process.env.BENCH_MESSAGES, 20);
const BUDGET_MS = num(flags.minutes, process.env.BENCH_MINUTES, 5) * 60_000;
const PER_CONVERSATION = num(flags["per-conversation"], process.env.BENCH_PER_CONVERSATION, 5);
const GRACE_MS = num(flags.grace, process.env.BENCH_GRACE_SECONDS, 60) * 1000;
/** How long one message may take before its user sends the next one anyway. */
const MESSAGE_WAIT_MS = 180_000;
/** Longer than the runtime's own graceful-stop budget, so it can sync its state and mark its row. */
const RUNTIME_STOP_MS = 45_000;

interface Tracked extends SentMessage {
  user: number;
  index: number;
  postMs: number;
}

interface UserRun {
  index: number;
  email: string;
  sub: string;
  token: string;
  /** Finals and error events per user message id, as they arrived. */
  finals: Map<string, LiveFinal[]>;
  errors: Map<string, number>;
  waiters: Map<string, () => void>;
  sent: Tracked[];
  refused: { index: number; status: number; body: string }[];
  notSent: number;
  postRetries: number;
  taskRefs: Set<string>;
  reconnects: number;
  close?: () => Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The processes of a process group, with their resident memory in pages (Linux /proc). */
function groupMembers(pgid: number): { pid: number; rssPages: number }[] {
  const out: { pid: number; rssPages: number }[] = [];
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue;
    }
    // The fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid) out.push({ pid: Number(name), rssPages: Number(fields[21]) });
  }
  return out;
}

/** Resident memory of a runtime with its OpenClaw (its process group), in MB. */
function groupRssMb(pgid: number): number {
  return (groupMembers(pgid).reduce((n, m) => n + m.rssPages, 0) * 4096) / 1024 / 1024;
}

function onEvent(user: UserRun, raw: unknown): void {
  const parsed = chatEventSchema.safeParse(raw);
  if (!parsed.success) return;
  const e: ChatEvent = parsed.data;
  const at = Date.now();
  let replyTo: string | undefined;
  if (e.type === "final" && e.message.replyTo) {
    replyTo = e.message.replyTo;
    const list = user.finals.get(replyTo) ?? [];
    list.push({ replyId: e.message.id, status: e.message.status, content: e.message.content, at });
    user.finals.set(replyTo, list);
  } else if (e.type === "error" && e.replyTo) {
    replyTo = e.replyTo;
    user.errors.set(replyTo, (user.errors.get(replyTo) ?? 0) + 1);
  }
  if (replyTo) user.waiters.get(replyTo)?.();
}

async function main(): Promise<number> {
  const began = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "bench-load-"));
  const cleanups: (() => Promise<void>)[] = [];
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const c of cleanups.reverse())
      await c().catch((e: unknown) => console.warn("cleanup:", errorMessage(e)));
    if (flags.keep) console.log(`[load] state kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  const users: UserRun[] = [];

  try {
    console.log(
      `[load] ${USERS} users × ${MESSAGES} messages, conversations of ${PER_CONVERSATION}, budget ${BUDGET_MS / 60_000} min; load average ${loadavg()[0]?.toFixed(1)}`,
    );
    const llm = await startFakeLlm();
    cleanups.push(() => llm.close());
    // Streamed in a few pieces, like a short real reply; the marker comes back in the echo.
    llm.setFallback((req) => ({ text: `Echo: ${req.userText}`, chunks: 4, chunkDelayMs: 5 }));

    const appPort = await freePort();
    const cloud = await startCloudProcess({
      stateDir: join(dir, "cloud"),
      appUrl: `http://127.0.0.1:${appPort}`,
    });
    cleanups.push(() => cloud.stop());
    const adapters = createAdapters(configFromLocalCloud(cloud.info, cloud.file));

    // Runtimes are launched by the app; they are stopped through their rows before the cloud
    // they sync to, and after the app, so that nothing launches another one meanwhile.
    const stopRuntimes = async () => {
      const refs = new Set(users.flatMap((u) => [...u.taskRefs]));
      for (const row of await adapters.taskStates.listActive().catch(() => []))
        if (row.taskRef) refs.add(row.taskRef);
      const local = [...refs].filter((r) => r.startsWith("local:"));
      await Promise.all(local.map((r) => adapters.launcher.stop(r, "bench done").catch(() => undefined)));
      const until = Date.now() + RUNTIME_STOP_MS;
      let alive = local;
      while (alive.length > 0 && Date.now() < until) {
        await sleep(250);
        const checks = await Promise.all(alive.map((r) => adapters.launcher.isAlive(r)));
        alive = alive.filter((_, i) => checks[i]);
      }
      if (alive.length > 0) console.log(`[load] ${alive.length} runtime(s) did not stop in time: killed`);
      // Each runtime leads a process group of its own, its OpenClaw included. A group with
      // members left is still that runtime's (a pid is not reused while it names a group).
      for (const ref of local) {
        const pgid = Number(ref.slice("local:".length));
        if (groupMembers(pgid).length === 0) continue;
        try {
          process.kill(-pgid, "SIGKILL");
        } catch {
          // the group ended meanwhile
        }
      }
    };
    cleanups.push(stopRuntimes);

    const reuse = !flags.rebuild;
    buildApp({ cloudFile: cloud.file, reuse });
    const app = await startApp({ cloudFile: cloud.file, port: appPort, logFile: join(dir, "next.log") });
    cleanups.push(() => app.stop());
    console.log(
      `[load] app on ${app.url} (pid ${app.pid}), local cloud pid ${cloud.pid}, fake LLM ${llm.url}`,
    );

    const api = async (user: UserRun, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${app.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${user.token}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, text: await res.text() };
    };

    const { cognito } = cloud.info;
    for (let i = 0; i < USERS; i++) {
      const email = `load-${i + 1}@example.com`;
      const password = `Load-password-${i + 1}!`;
      await createTestUser(cognito, email, password);
      const { accessToken, sub } = await signInForTest(cognito, email, password);
      const user: UserRun = {
        index: i,
        email,
        sub,
        token: accessToken,
        finals: new Map(),
        errors: new Map(),
        waiters: new Map(),
        sent: [],
        refused: [],
        notSent: 0,
        postRetries: 0,
        taskRefs: new Set(),
        reconnects: 0,
      };
      users.push(user);
      const settings = await api(user, "PUT", "/api/settings", {
        provider: "openai-compatible",
        model: "fake-model",
        baseUrl: `${llm.url}/v1`,
        apiKey: `sk-load-${i + 1}`,
        prewarm: false,
        idleTimeoutMinutes: 60,
        runTimeoutSeconds: 300,
      });
      if (settings.status !== 200) throw new Error(`PUT /api/settings: ${settings.status} ${settings.text}`);
      const subscriber = new AppSyncEventsSubscriber({
        httpEndpoint: cloud.info.events.httpEndpoint,
        realtimeEndpoint: cloud.info.events.realtimeEndpoint,
        region: cloud.info.region,
        auth: { type: "userPool", token: () => user.token },
        onReconnect: () => {
          user.reconnects++;
        },
      });
      const subscription = await subscriber.subscribe(`/chat/${sub}/*`, (raw) => onEvent(user, raw));
      user.close = async () => {
        await subscription.close();
        await subscriber.close();
      };
      cleanups.push(() => user.close?.() ?? Promise.resolve());
    }

    // The rows name each user's runtime process: for the memory figures and the final stop.
    const peakRss = new Map<string, number>();
    const watch = setInterval(() => {
      for (const u of users)
        void adapters.taskStates
          .get(u.sub)
          .then((row) => {
            if (row.taskRef) u.taskRefs.add(row.taskRef);
          })
          .catch(() => undefined);
      for (const ref of users.flatMap((u) => [...u.taskRefs])) {
        const pid = Number(ref.slice("local:".length));
        if (!isRunning(pid)) continue;
        peakRss.set(ref, Math.max(peakRss.get(ref) ?? 0, groupRssMb(pid)));
      }
    }, 2_000);
    cleanups.push(async () => clearInterval(watch));

    const started = Date.now();
    const deadline = started + BUDGET_MS;
    const sendUntil = deadline - GRACE_MS;

    /** Resolves when a final (or an error) for the message has arrived, or at `until`. */
    const answered = (user: UserRun, messageId: string, until: number) =>
      new Promise<void>((resolve) => {
        if (user.finals.has(messageId) || user.errors.has(messageId)) return resolve();
        const timer = setTimeout(done, Math.max(0, until - Date.now()));
        function done() {
          clearTimeout(timer);
          user.waiters.delete(messageId);
          resolve();
        }
        user.waiters.set(messageId, done);
      });

    /** POST /api/chat, retried with the same key on a network error (as the chat page does). */
    const post = async (user: UserRun, body: Record<string, unknown>) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await api(user, "POST", "/api/chat", body);
        } catch (err) {
          if (attempt >= 3) throw err;
          user.postRetries++;
          await sleep(500 * attempt);
        }
      }
    };

    const runUser = async (user: UserRun) => {
      let conversationId: string | undefined;
      for (let j = 0; j < MESSAGES; j++) {
        if (Date.now() > sendUntil) {
          user.notSent = MESSAGES - j;
          return;
        }
        const position = j % PER_CONVERSATION;
        if (position === 0) conversationId = undefined;
        const marker = `mk${user.index + 1}x${j + 1}x${randomBytes(4).toString("hex")}`;
        const text = `Message ${j + 1} from user ${user.index + 1} [${marker}]: please say it back.`;
        const sentAt = Date.now();
        let res: { status: number; text: string };
        try {
          res = await post(user, {
            text,
            idempotencyKey: newId(),
            ...(conversationId ? { conversationId } : {}),
          });
        } catch (err) {
          user.refused.push({ index: j, status: 0, body: errorMessage(err) });
          continue;
        }
        if (res.status !== 202) {
          user.refused.push({ index: j, status: res.status, body: res.text.slice(0, 300) });
          continue;
        }
        const ids = JSON.parse(res.text) as { conversationId: string; messageId: string };
        conversationId = ids.conversationId;
        user.sent.push({
          user: user.index,
          index: j,
          messageId: ids.messageId,
          conversationId: ids.conversationId,
          marker,
          sentAt,
          postMs: Date.now() - sentAt,
        });
        // The third of a conversation is followed at once by the next: two queued together.
        if (position === 2 && j + 1 < MESSAGES) continue;
        await answered(user, ids.messageId, Math.min(deadline, sentAt + MESSAGE_WAIT_MS));
      }
    };

    const progress = setInterval(() => {
      const sent = users.reduce((n, u) => n + u.sent.length, 0);
      const finals = users.reduce((n, u) => n + u.sent.filter((m) => u.finals.has(m.messageId)).length, 0);
      console.log(`[load] ${seconds(Date.now() - started)}: ${sent} sent, ${finals} answered`);
    }, 15_000);
    cleanups.push(async () => clearInterval(progress));
    await Promise.all(users.map(runUser));
    // What was sent last gets until the deadline.
    await Promise.all(users.flatMap((u) => u.sent.map((m) => answered(u, m.messageId, deadline))));
    const trafficMs = Date.now() - started;
    clearInterval(progress);
    // A final published a moment before the deadline may still be on its way.
    await sleep(1_000);

    // The store, as a reload would show it.
    const stored = new Map<number, StoredMessage[]>();
    const conversationsOf = new Map<number, string[]>();
    for (const u of users) {
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await api(
          u,
          "GET",
          `/api/conversations?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        );
        if (page.status !== 200) throw new Error(`GET /api/conversations: ${page.status} ${page.text}`);
        const body = JSON.parse(page.text) as { items: { id: string }[]; cursor?: string };
        ids.push(...body.items.map((c) => c.id));
        cursor = body.cursor;
      } while (cursor);
      conversationsOf.set(u.index, ids);
      const messages: StoredMessage[] = [];
      for (const id of ids) {
        let mcursor: string | undefined;
        do {
          const page = await api(
            u,
            "GET",
            `/api/conversations/${id}/messages?limit=200${mcursor ? `&cursor=${encodeURIComponent(mcursor)}` : ""}`,
          );
          if (page.status !== 200) throw new Error(`GET messages: ${page.status} ${page.text}`);
          const body = JSON.parse(page.text) as { items: StoredMessage[]; cursor?: string };
          messages.push(...body.items);
          mcursor = body.cursor;
        } while (mcursor);
      }
      stored.set(u.index, messages);
    }

    // The verdicts.
    const counts: Record<Outcome, number> = { delivered: 0, lost: 0, duplicated: 0, failed: 0 };
    const latencies: number[] = [];
    const firstLatencies: number[] = [];
    let repeatedFinals = 0;
    const problems: string[] = [];
    for (const u of users) {
      const all = stored.get(u.index) ?? [];
      for (const m of u.sent) {
        const v = judge(m, u.finals.get(m.messageId) ?? [], u.errors.get(m.messageId) ?? 0, all);
        counts[v.outcome]++;
        repeatedFinals += v.repeatedFinals;
        if (v.latencyMs !== undefined) (m.index === 0 ? firstLatencies : latencies).push(v.latencyMs);
        if (v.outcome !== "delivered")
          problems.push(
            `user ${u.index + 1} message ${m.index + 1} (${m.messageId}): ${v.outcome}, ${v.reason}`,
          );
      }
      const expected = new Set(u.sent.map((m) => m.conversationId));
      const extra = (conversationsOf.get(u.index) ?? []).filter((id) => !expected.has(id));
      if (extra.length > 0)
        problems.push(`user ${u.index + 1}: ${extra.length} conversation(s) nobody started`);
    }

    const sent = users.reduce((n, u) => n + u.sent.length, 0);
    const refused = users.flatMap((u) => u.refused.map((r) => ({ user: u.index, ...r })));
    const notSent = users.reduce((n, u) => n + u.notSent, 0);
    const posts = users.flatMap((u) => u.sent.map((m) => m.postMs));
    const warm = latencies;
    const everything = [...firstLatencies, ...latencies];
    const fmt = (ms: number) => (Number.isNaN(ms) ? "-" : seconds(ms));
    const runtimes = users.map((u) => u.taskRefs.size);
    const rss = [...peakRss.values()];

    console.log("");
    console.log(
      `bench:load: ${USERS} users × ${MESSAGES} messages in ${seconds(trafficMs)} (budget ${BUDGET_MS / 60_000} min; ${seconds(Date.now() - began)} with the set-up), load average ${loadavg()[0]?.toFixed(1)} at the end`,
    );
    console.log(
      `  sent ${sent}, refused ${refused.length}, not sent (time budget) ${notSent}, POST retries ${users.reduce((n, u) => n + u.postRetries, 0)}`,
    );
    console.log(
      `  delivered / lost / duplicated: ${counts.delivered} / ${counts.lost} / ${counts.duplicated}   (failed ${counts.failed}, finals repeated on the wire ${repeatedFinals})`,
    );
    console.log(
      `  POST → final, all:            p50 ${fmt(percentile(everything, 50))}   p99 ${fmt(percentile(everything, 99))}   (n=${everything.length})`,
    );
    console.log(
      `  POST → final, first per user (cold start): p50 ${fmt(percentile(firstLatencies, 50))}   max ${fmt(firstLatencies.length ? Math.max(...firstLatencies) : Number.NaN)}`,
    );
    console.log(
      `  POST → final, the others:     p50 ${fmt(percentile(warm, 50))}   p99 ${fmt(percentile(warm, 99))}   (n=${warm.length})`,
    );
    console.log(
      `  POST /api/chat answered in    p50 ${fmt(percentile(posts, 50))}   p99 ${fmt(percentile(posts, 99))}`,
    );
    console.log(
      `  runtimes per user: ${runtimes.join(", ")}; peak RSS per runtime (with its OpenClaw): ${rss.map((r) => `${r.toFixed(0)} MB`).join(", ") || "-"} (${(rss.reduce((a, b) => a + b, 0) / 1024).toFixed(1)} GB together); event reconnects ${users.reduce((n, u) => n + u.reconnects, 0)}`,
    );
    for (const r of refused.slice(0, 10))
      console.log(`  refused: user ${r.user + 1} message ${r.index + 1}: ${r.status} ${r.body}`);
    for (const p of problems.slice(0, 20)) console.log(`  ${p}`);
    if (problems.length > 20) console.log(`  … and ${problems.length - 20} more`);
    const ok = counts.lost === 0 && counts.duplicated === 0 && counts.failed === 0 && refused.length === 0;
    if (!ok && !flags.keep) console.log("  (run with --keep to keep the runtimes' logs)");
    return ok ? 0 : 1;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
