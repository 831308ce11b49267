import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { errorMessage } from "../../lib/errors";
import type { FakeLlm, FakeReply, RecordedRequest } from "../fixtures/fake-llm";

/*
 * The fake LLM runs in the Playwright runner (global setup); specs run in workers. This
 * small HTTP endpoint on 127.0.0.1 lets a spec script it across that process boundary:
 *
 *   POST /when   { match, replies }   one reply per matching request, in order (llm.when)
 *   POST /fail   { match, status }    every matching request fails until /unfail
 *   POST /unfail { match }
 *   GET  /requests?match=            user texts of the requests received (for assertions)
 *
 * `match` is a substring of the user's text, as with llm.when.
 */

const replySchema = z.union([
  z.object({
    text: z.string(),
    chunks: z.union([z.number().int().positive(), z.array(z.string())]).optional(),
    chunkDelayMs: z.number().int().nonnegative().optional(),
    firstByteDelayMs: z.number().int().nonnegative().optional(),
    hangAfter: z.boolean().optional(),
  }),
  z.object({
    toolCalls: z.array(
      z.object({ name: z.string(), arguments: z.record(z.string(), z.unknown()), id: z.string().optional() }),
    ),
    text: z.string().optional(),
    firstByteDelayMs: z.number().int().nonnegative().optional(),
  }),
  z.object({
    status: z.number().int(),
    message: z.string().optional(),
    headers: z.record(z.string(), z.string()).optional(),
  }),
  z.object({ hang: z.literal(true) }),
]);

const whenSchema = z.object({ match: z.string().min(1), replies: z.array(replySchema).min(1) });
const failSchema = z.object({
  match: z.string().min(1),
  status: z.number().int().default(503),
  message: z.string().optional(),
});
const unfailSchema = z.object({ match: z.string().min(1) });

/**
 * The default answer of the e2e fake: an echo streamed in eight pieces 150 ms apart, so a
 * browser sees the reply grow in several steps.
 */
export function echoInSteps(req: RecordedRequest): FakeReply {
  return {
    text: `You said: ${req.userText}. This reply streams in several steps.`,
    chunks: 8,
    chunkDelayMs: 150,
  };
}

export interface LlmControl {
  url: string;
  close(): Promise<void>;
}

export async function startLlmControl(llm: FakeLlm): Promise<LlmControl> {
  const failing = new Map<string, { status: number; message?: string }>();
  llm.setFallback((req) => {
    for (const [match, err] of failing) {
      if (req.userText.includes(match)) return { status: err.status, message: err.message };
    }
    return echoInSteps(req);
  });

  const server: Server = createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    try {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      if (req.method === "GET" && url.pathname === "/requests") {
        const match = url.searchParams.get("match") ?? "";
        send(200, { userTexts: llm.requests.map((r) => r.userText).filter((t) => t.includes(match)) });
        return;
      }
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
      if (req.method === "POST" && url.pathname === "/when") {
        const { match, replies } = whenSchema.parse(body);
        llm.when(match, ...(replies as FakeReply[]));
        send(200, { ok: true });
      } else if (req.method === "POST" && url.pathname === "/fail") {
        const { match, status, message } = failSchema.parse(body);
        failing.set(match, { status, message });
        send(200, { ok: true });
      } else if (req.method === "POST" && url.pathname === "/unfail") {
        failing.delete(unfailSchema.parse(body).match);
        send(200, { ok: true });
      } else send(404, { error: "no such control route" });
    } catch (err) {
      send(400, { error: errorMessage(err) });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Spec side: script the fake LLM through the control endpoint. */
export function llmClient(controlUrl: string) {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${controlUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`llm control ${path}: ${res.status} ${await res.text()}`);
  };
  return {
    when: (match: string, ...replies: FakeReply[]) => post("/when", { match, replies }),
    fail: (match: string, status = 503, message?: string) => post("/fail", { match, status, message }),
    unfail: (match: string) => post("/unfail", { match }),
    async userTexts(match = ""): Promise<string[]> {
      const res = await fetch(`${controlUrl}/requests?match=${encodeURIComponent(match)}`);
      if (!res.ok) throw new Error(`llm control /requests: ${res.status}`);
      return ((await res.json()) as { userTexts: string[] }).userTexts;
    },
  };
}
