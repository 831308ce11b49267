import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { expect, test } from "./support/fixtures";

const DOCS = resolve(import.meta.dirname, "..", "docs");

/** Each text is a longer version of the one before: the reply grew, it was not replaced. */
function expectGrowing(seen: string[]): void {
  for (let i = 1; i < seen.length; i++) {
    expect(seen[i]?.startsWith(seen[i - 1] ?? "")).toBe(true);
  }
}

// Alice pre-warms. The tests share her runtime and run in order: the first one sees it wake up.
test.describe.configure({ mode: "serial" });

test.describe("chat", () => {
  test("the agent wakes up, a message sent meanwhile is answered, the reply streams in steps", async ({
    page,
    signIn,
    chat,
    info,
    llm,
  }) => {
    // A cold start plus OpenClaw's first-turn initialisation: minutes on a busy 2-core CI box.
    test.setTimeout(480_000);
    await signIn.signInTo(info.users.alice, "/");
    // Opening the chat wakes the agent; its state and the elapsed seconds are visible.
    await expect(chat.status).toHaveAttribute("data-state", "waking");
    await expect(page.getByTestId("agent-elapsed")).toBeVisible();

    // The user may write while it wakes. The first message of a new chat shows at once and
    // stays through the move to /c/<id>.
    const stopPresence = await chat.watchUserMessage("Hello agent, are you there?");
    await chat.send("Hello agent, are you there?");
    await expect(chat.userMessages.filter({ hasText: "Hello agent, are you there?" })).toBeVisible();
    await expect(page.getByTestId("message-waiting")).toBeVisible();
    // A second message while it still wakes: both are answered, in order.
    await chat.conversationId();
    await expect(chat.userMessages.filter({ hasText: "Hello agent, are you there?" })).toBeVisible();
    expect(await stopPresence()).toEqual({ seen: true, vanished: false });
    await chat.send("And a second question");
    await expect(chat.userMessages).toHaveCount(2);
    const stopWatching = await chat.watchStreaming();
    await expect(page.getByTestId("agent-elapsed")).toHaveText(/· ([2-9]|\d\d+) s/);
    mkdirSync(DOCS, { recursive: true });
    await page.screenshot({ path: join(DOCS, "screenshot-waking.png") });

    await expect(chat.assistantWith("You said: Hello agent, are you there?")).toBeVisible({
      timeout: 360_000,
    });
    const seen = await stopWatching();
    // Several visible steps before the stored reply replaced the stream.
    expect(seen.length, `streamed texts: ${JSON.stringify(seen)}`).toBeGreaterThanOrEqual(3);
    expectGrowing(seen);
    await expect(chat.assistantWith("You said: And a second question")).toBeVisible();
    const asked = [...new Set((await llm.userTexts()).filter((t) => /Hello agent|second question/.test(t)))];
    expect(asked).toEqual(["Hello agent, are you there?", "And a second question"]);
    const order = await page.getByTestId("message-list").textContent();
    expect(order?.indexOf("You said: Hello agent")).toBeLessThan(
      order?.indexOf("And a second question") ?? -1,
    );
    await expect(chat.status).toHaveAttribute("data-state", /ready|busy/);
    await expect(chat.conversations.filter({ hasText: "Hello agent, are you there?" })).toBeVisible();
  });

  test("after a reload the conversation is complete and no reply shows twice", async ({
    page,
    signIn,
    chat,
    info,
  }) => {
    await signIn.signInTo(info.users.alice, "/");
    await chat.conversations.filter({ hasText: "Hello agent, are you there?" }).click();
    const id = await chat.conversationId();
    await expect(chat.assistantWith("You said: Hello agent")).toHaveCount(1);
    await page.reload();
    await expect(page).toHaveURL(new RegExp(`/c/${id}$`));
    await expect(chat.userMessages).toHaveCount(2);
    await expect(chat.assistantWith("You said: Hello agent")).toHaveCount(1);
    await expect(chat.streaming).toHaveCount(0);
  });

  test("Markdown with highlighted code and copy buttons; Shift+Enter adds a line", async ({
    page,
    signIn,
    chat,
    info,
    llm,
  }) => {
    await llm.when("prime numbers", {
      text: "Here is a **small** function:\n\n```ts\nexport function isPrime(n: number): boolean {\n  for (let i = 2; i * i <= n; i++) if (n % i === 0) return false;\n  return n > 1;\n}\n```\n\n| n | prime |\n|---|---|\n| 7 | yes |\n| 9 | no |\n",
      chunks: 12,
      chunkDelayMs: 60,
    });
    await signIn.signInTo(info.users.alice, "/");
    await chat.input.fill("Write a TypeScript check for prime numbers");
    await chat.input.press("Shift+Enter");
    await chat.input.pressSequentially("with a table of examples");
    await expect(chat.input).toHaveValue(
      "Write a TypeScript check for prime numbers\nwith a table of examples",
    );
    await expect(chat.userMessages).toHaveCount(0);
    await chat.input.press("Enter");
    const reply = chat.assistantWith("small function");
    await expect(reply).toBeVisible();
    await expect(reply.locator("pre code.hljs, pre code[class*=language-]").first()).toBeVisible();
    await expect(reply.locator(".hljs-keyword").first()).toBeVisible();
    await expect(reply.locator("table")).toBeVisible();
    await expect(reply.getByTestId("copy-code")).toBeVisible();
    await expect(reply.getByTestId("copy-message")).toBeAttached();
    await page.screenshot({ path: join(DOCS, "screenshot-chat.png") });
  });

  test("stop ends a slow run", async ({ page, signIn, chat, info, llm }) => {
    await llm.when("slow story", {
      text: Array.from({ length: 200 }, (_, i) => `word${i}`).join(" "),
      chunks: 100,
      chunkDelayMs: 250,
    });
    await signIn.signInTo(info.users.alice, "/");
    await chat.send("Tell me a slow story");
    await expect(chat.streaming.getByTestId("message-content")).toContainText("word1");
    await expect(chat.stopButton).toBeVisible();
    await chat.stopButton.click();
    await expect(page.getByTestId("run-stopped")).toBeVisible();
    await expect(chat.stopButton).toBeHidden();
    await expect(chat.streaming).toHaveCount(0);
    // Nothing more arrives after the stop.
    const text = await page.getByTestId("message-list").textContent();
    await page.waitForTimeout(2000);
    expect(await page.getByTestId("message-list").textContent()).toBe(text);
    expect(text).not.toContain("word199");
  });

  test("an LLM error shows a clear message, and retry works", async ({ page, signIn, chat, info, llm }) => {
    await llm.fail("flaky question", 500, "upstream exploded");
    await signIn.signInTo(info.users.alice, "/");
    await chat.send("Answer this flaky question");
    await expect(chat.runError).toBeVisible();
    await expect(chat.runError).toContainText(/provider|model|failed|unavailable|error/i);
    // The message names no internals.
    await expect(chat.runError).not.toContainText(/127\.0\.0\.1|stack|ECONN/);
    await llm.unfail("flaky question");
    const question = chat.userMessages.filter({ hasText: "Answer this flaky question" });
    await expect(question).toHaveCount(1);
    await page.getByTestId("retry-run").click();
    // The failed reply goes at once; the new one comes under the same message, sent once.
    await expect(chat.runError).toHaveCount(0);
    await expect(chat.assistantWith("You said: Answer this flaky question")).toBeVisible();
    await expect(question).toHaveCount(1);
    await expect(chat.runError).toHaveCount(0);
    await expect(page.getByTestId("retry-run")).toHaveCount(0);
    // What the store holds agrees: one message, one answer, no failed attempt.
    await page.reload();
    await expect(chat.assistantWith("You said: Answer this flaky question")).toBeVisible();
    await expect(question).toHaveCount(1);
    await expect(chat.assistantMessages).toHaveCount(1);
    await expect(chat.runError).toHaveCount(0);
  });

  test("tool activity shows as a compact item that expands", async ({ page, signIn, chat, info, llm }) => {
    await llm.when(
      "list the workspace",
      { toolCalls: [{ name: "exec", arguments: { command: "ls" } }] },
      { text: "The workspace has a few files." },
    );
    await signIn.signInTo(info.users.alice, "/");
    await chat.send("Please list the workspace");
    const reply = chat.assistantWith("The workspace has a few files.");
    await expect(reply).toBeVisible();
    const tool = reply.getByTestId("tool-activity").filter({ hasText: "exec" });
    await expect(tool).toBeVisible();
    await expect(tool).toHaveAttribute("data-status", /done|error/);
    // Collapsed by default; opens on click when there is something to show.
    await expect(tool).not.toHaveAttribute("open", "");
    await tool.locator("summary").click();
    await expect(tool).toHaveAttribute("open", "");
    await page.reload();
    await expect(
      chat.assistantWith("The workspace has a few files.").getByTestId("tool-activity"),
    ).toHaveCount(1);
  });

  test("conversations can be renamed and deleted from the sidebar", async ({ page, signIn, chat, info }) => {
    const renames: string[] = [];
    page.on("request", (r) => {
      if (r.method() === "PATCH") renames.push(r.url());
    });
    await signIn.signInTo(info.users.alice, "/");
    await chat.send("A conversation to rename");
    await expect(chat.assistantWith("You said: A conversation to rename")).toBeVisible();
    const row = chat.conversations.filter({ hasText: "A conversation to rename" });
    await row.hover();
    await row.getByTestId("rename-conversation").click();
    await page.getByTestId("rename-input").fill("Renamed in the sidebar");
    await page.getByTestId("rename-input").press("Enter");
    await expect(chat.conversations.filter({ hasText: "Renamed in the sidebar" })).toBeVisible();
    await expect(page.getByTestId("conversation-title")).toHaveText("Renamed in the sidebar");
    await page.reload();
    await expect(chat.conversations.filter({ hasText: "Renamed in the sidebar" })).toBeVisible();
    // Enter saved once; Escape cancels without a request.
    expect(renames).toHaveLength(1);
    const again = chat.conversations.filter({ hasText: "Renamed in the sidebar" });
    await again.hover();
    await again.getByTestId("rename-conversation").click();
    await page.getByTestId("rename-input").fill("Not saved");
    await page.getByTestId("rename-input").press("Escape");
    await expect(chat.conversations.filter({ hasText: "Renamed in the sidebar" })).toBeVisible();
    await page.reload();
    await expect(chat.conversations.filter({ hasText: "Renamed in the sidebar" })).toBeVisible();
    expect(renames).toHaveLength(1);

    page.once("dialog", (d) => d.accept());
    const renamed = chat.conversations.filter({ hasText: "Renamed in the sidebar" });
    await renamed.hover();
    await renamed.getByTestId("delete-conversation").click();
    await expect(chat.conversations.filter({ hasText: "Renamed in the sidebar" })).toHaveCount(0);
    await expect(page).toHaveURL(/\/$/);
  });

  test("on a phone the conversation list is a drawer", async ({ page, signIn, chat, info }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await signIn.signInTo(info.users.alice, "/");
    await expect(page.getByTestId("sidebar")).toBeHidden();
    await page.getByTestId("open-sidebar").click();
    const drawer = page.getByTestId("sidebar-drawer");
    const row = drawer.getByTestId("conversation-item").filter({ hasText: "Hello agent" });
    await expect(row).toBeVisible();
    await row.click();
    await expect(drawer).toBeHidden();
    await expect(chat.assistantWith("You said: Hello agent")).toBeVisible();
    await expect(chat.input).toBeVisible();
    // Dark mode, remembered across a reload.
    await page.getByTestId("theme-toggle").click();
    await expect(page.locator("html")).toHaveClass(/dark/);
    await page.reload();
    await expect(page.locator("html")).toHaveClass(/dark/);
    await expect(chat.assistantWith("You said: Hello agent")).toBeVisible();
    await page.screenshot({ path: join(DOCS, "screenshot-phone-dark.png") });
  });
});
