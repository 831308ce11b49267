import { test as base, expect } from "@playwright/test";
import { ChatPage } from "../pages/chat-page";
import { SignInPage } from "../pages/sign-in-page";
import { type E2eInfo, e2eInfo } from "./info";
import { llmClient } from "./llm-control";

/** The specs' test: baseURL from the global setup, page objects, and the fake LLM's controls. */
export const test = base.extend<{
  info: E2eInfo;
  signIn: SignInPage;
  chat: ChatPage;
  llm: ReturnType<typeof llmClient>;
}>({
  // biome-ignore lint/correctness/noEmptyPattern: Playwright requires a destructuring pattern here
  baseURL: async ({}, use) => {
    await use(e2eInfo().appUrl);
  },
  // biome-ignore lint/correctness/noEmptyPattern: Playwright requires a destructuring pattern here
  info: async ({}, use) => {
    await use(e2eInfo());
  },
  signIn: async ({ page }, use) => {
    await use(new SignInPage(page));
  },
  chat: async ({ page }, use) => {
    await use(new ChatPage(page));
  },
  // biome-ignore lint/correctness/noEmptyPattern: Playwright requires a destructuring pattern here
  llm: async ({}, use) => {
    await use(llmClient(e2eInfo().llmControlUrl));
  },
});

export { expect };
