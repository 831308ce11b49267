import { newId } from "../lib/contracts/ids";
import { signInForTest } from "../lib/testing/services";
import { expect, test } from "./support/fixtures";
import { e2eInfo } from "./support/info";

/*
 * Two users: bob can neither open alice's conversation by URL or API, nor subscribe to her
 * realtime channel, while the same requests for his own data succeed (so the checks can fail).
 */

async function tokenOf(user: { email: string; password: string }): Promise<string> {
  return (await signInForTest(e2eInfo().cognito, user.email, user.password)).accessToken;
}

test.describe("two users", () => {
  let aliceConversation: string;
  let bobToken: string;

  test.beforeAll(async () => {
    const info = e2eInfo();
    const aliceToken = await tokenOf(info.users.alice);
    bobToken = await tokenOf(info.users.bob);
    const res = await fetch(`${info.appUrl}/api/chat`, {
      method: "POST",
      headers: { authorization: `Bearer ${aliceToken}`, "content-type": "application/json" },
      body: JSON.stringify({ text: "Alice's private plans", idempotencyKey: newId() }),
    });
    expect(res.status).toBe(202);
    aliceConversation = ((await res.json()) as { conversationId: string }).conversationId;
  });

  test("bob cannot open alice's conversation by URL", async ({ page, signIn, chat, info }) => {
    await signIn.signInTo(info.users.bob, `/c/${aliceConversation}`);
    await expect(page).toHaveURL(new RegExp(`/c/${aliceConversation}$`));
    await expect(chat.notFound).toBeVisible();
    await expect(page.getByText("Alice's private plans")).toHaveCount(0);
    await expect(chat.conversations.filter({ hasText: "Alice's private plans" })).toHaveCount(0);
  });

  test("bob cannot read, write, rename, stop or delete it through the API", async ({ request, info }) => {
    const headers = { authorization: `Bearer ${bobToken}` };
    const base = `${info.appUrl}/api/conversations/${aliceConversation}`;
    for (const res of [
      await request.get(base, { headers }),
      await request.get(`${base}/messages`, { headers }),
      await request.patch(base, { headers, data: { title: "mine" } }),
      await request.post(`${base}/stop`, { headers }),
      await request.delete(base, { headers }),
      await request.post(`${info.appUrl}/api/chat`, {
        headers,
        data: { text: "hi", conversationId: aliceConversation, idempotencyKey: newId() },
      }),
    ]) {
      expect(res.status(), res.url()).toBe(404);
      expect((await res.json()).error.code).toBe("not_found");
    }
    const list = await request.get(`${info.appUrl}/api/conversations`, { headers });
    expect(list.status()).toBe(200);
    const ids = ((await list.json()) as { items: { id: string }[] }).items.map((c) => c.id);
    expect(ids).not.toContain(aliceConversation);
    // Still there for alice.
    const alice = await request.get(base, {
      headers: { authorization: `Bearer ${await tokenOf(info.users.alice)}` },
    });
    expect(alice.status()).toBe(200);
  });

  test("bob's subscription to alice's channel is refused, his own is accepted", async ({
    page,
    signIn,
    info,
  }) => {
    await signIn.signInTo(info.users.bob, "/settings");
    // The realtime protocol spoken by the browser itself, with bob's Cognito token.
    const results = await page.evaluate(
      async ({ endpoint, host, token, channels }) => {
        const b64url = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
        const auth = { Authorization: token, host };
        const ws = new WebSocket(endpoint, [
          "aws-appsync-event-ws",
          `header-${b64url(JSON.stringify(auth))}`,
        ]);
        const messages: { type: string; id?: string; errors?: unknown }[] = [];
        const next = (pred: (m: { type: string; id?: string }) => boolean) =>
          new Promise<{ type: string; id?: string; errors?: unknown }>((resolve, reject) => {
            const found = messages.find(pred);
            if (found) return resolve(found);
            const t = setTimeout(() => reject(new Error("timeout")), 10_000);
            ws.addEventListener("message", function on(ev) {
              const m = JSON.parse(String(ev.data));
              if (pred(m)) {
                clearTimeout(t);
                ws.removeEventListener("message", on);
                resolve(m);
              }
            });
          });
        ws.addEventListener("message", (ev) => messages.push(JSON.parse(String(ev.data))));
        await new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = reject;
        });
        ws.send(JSON.stringify({ type: "connection_init" }));
        await next((m) => m.type === "connection_ack");
        const out: Record<string, string> = {};
        for (const [i, channel] of channels.entries()) {
          const id = `sub-${i}`;
          ws.send(JSON.stringify({ type: "subscribe", id, channel, authorization: auth }));
          const reply = await next((m) => m.id === id && m.type.startsWith("subscribe_"));
          out[channel] = reply.type;
        }
        ws.close();
        return out;
      },
      {
        endpoint: info.eventsRealtimeEndpoint,
        host: info.eventsHost,
        token: bobToken,
        channels: [
          `/chat/${info.users.alice.sub}/*`,
          `/chat/${info.users.alice.sub}/${aliceConversation}`,
          "/chat/*",
          `/chat/${info.users.bob.sub}/*`,
        ],
      },
    );
    expect(results).toEqual({
      [`/chat/${info.users.alice.sub}/*`]: "subscribe_error",
      [`/chat/${info.users.alice.sub}/${aliceConversation}`]: "subscribe_error",
      "/chat/*": "subscribe_error",
      [`/chat/${info.users.bob.sub}/*`]: "subscribe_success",
    });
  });
});
