import { expect, type Locator, type Page } from "@playwright/test";

/** The chat: sidebar, agent status, messages, composer. Selectors are `data-testid`s only. */
export class ChatPage {
  constructor(readonly page: Page) {}

  get input() {
    return this.page.getByTestId("composer-input");
  }
  get sendButton() {
    return this.page.getByTestId("send-button");
  }
  get stopButton() {
    return this.page.getByTestId("stop-button");
  }
  get status() {
    return this.page.getByTestId("agent-status");
  }
  get conversations() {
    return this.page.getByTestId("conversation-item");
  }
  get userMessages() {
    return this.page.getByTestId("message-user");
  }
  get assistantMessages() {
    return this.page.getByTestId("message-assistant");
  }
  get streaming() {
    return this.page.getByTestId("message-streaming");
  }
  get runError() {
    return this.page.getByTestId("run-error");
  }
  get notFound() {
    return this.page.getByTestId("not-found");
  }

  /** Types and sends with the Enter key, as people do. */
  async send(text: string): Promise<void> {
    await this.input.fill(text);
    await this.input.press("Enter");
  }

  /** The id of the open conversation, from the URL (after the first message created it). */
  async conversationId(): Promise<string> {
    await expect(this.page).toHaveURL(/\/c\/[a-z0-9-]+$/);
    return new URL(this.page.url()).pathname.split("/").pop() ?? "";
  }

  assistantWith(text: string | RegExp): Locator {
    return this.assistantMessages.filter({ hasText: text });
  }

  /**
   * Starts watching for a user message with this text; the returned function stops and
   * tells whether it showed up, and whether it was ever gone from the page after that
   * (every DOM change is checked in the page, so a short gap is not missed).
   */
  async watchUserMessage(text: string): Promise<() => Promise<{ seen: boolean; vanished: boolean }>> {
    await this.page.evaluate((wanted) => {
      const w = window as unknown as {
        __presence: { seen: boolean; vanished: boolean };
        __presenceObserver?: MutationObserver;
      };
      w.__presence = { seen: false, vanished: false };
      const record = () => {
        const present = [...document.querySelectorAll('[data-testid="message-user"]')].some((e) =>
          e.textContent?.includes(wanted),
        );
        if (present) w.__presence.seen = true;
        else if (w.__presence.seen) w.__presence.vanished = true;
      };
      w.__presenceObserver?.disconnect();
      w.__presenceObserver = new MutationObserver(record);
      w.__presenceObserver.observe(document.body, { subtree: true, childList: true, characterData: true });
    }, text);
    return () =>
      this.page.evaluate(() => {
        const w = window as unknown as {
          __presence: { seen: boolean; vanished: boolean };
          __presenceObserver?: MutationObserver;
        };
        w.__presenceObserver?.disconnect();
        return w.__presence;
      });
  }

  /**
   * Starts watching the next streaming reply (the first run that shows up); the returned
   * function stops and gives every distinct text that reply showed, in order. Watches the
   * DOM in the page, so no step between two polls is missed.
   */
  async watchStreaming(): Promise<() => Promise<string[]>> {
    await this.page.evaluate(() => {
      const w = window as unknown as { __seen: string[]; __run?: string; __observer?: MutationObserver };
      w.__seen = [];
      w.__run = undefined;
      const record = () => {
        const frame = w.__run
          ? document.querySelector(`[data-testid="message-streaming"][data-run-id="${w.__run}"]`)
          : document.querySelector('[data-testid="message-streaming"]');
        if (!frame) return;
        w.__run ??= frame.getAttribute("data-run-id") ?? undefined;
        const text = frame.querySelector('[data-testid="message-content"]')?.textContent ?? "";
        if (text && w.__seen.at(-1) !== text) w.__seen.push(text);
      };
      w.__observer?.disconnect();
      w.__observer = new MutationObserver(record);
      w.__observer.observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    return () =>
      this.page.evaluate(() => {
        const w = window as unknown as { __seen: string[]; __observer?: MutationObserver };
        w.__observer?.disconnect();
        return w.__seen;
      });
  }
}
