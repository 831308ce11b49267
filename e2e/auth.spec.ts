import { expect, test } from "./support/fixtures";

// Bob has pre-warming off, so these tests never start an agent runtime.
test.describe("sign-in", () => {
  test("a page that needs a user sends to sign-in and comes back after it", async ({
    page,
    signIn,
    info,
  }) => {
    await page.goto("/settings");
    await expect(page).toHaveURL(/\/sign-in\?next=%2Fsettings$/);
    await signIn.submit(info.users.bob.email, info.users.bob.password);
    await expect(page).toHaveURL(/\/settings$/);
    await expect(page.getByTestId("settings-form")).toBeVisible();
    // The key is write-only: the page only says one is stored.
    await expect(page.getByTestId("settings-has-key")).toHaveText("A key is stored.");
    await expect(page.getByTestId("settings-api-key")).toHaveValue("");
  });

  test("a wrong password gets a clear message and no session", async ({ page, signIn, info }) => {
    await page.goto("/sign-in");
    await signIn.submit(info.users.bob.email, "not-the-password-1A!");
    await expect(signIn.error).toBeVisible();
    await expect(signIn.error).toContainText(/wrong email or password/i);
    await page.goto("/");
    await expect(page).toHaveURL(/\/sign-in/);
  });

  test("sign out ends the session", async ({ page, signIn, chat, info }) => {
    await signIn.signInTo(info.users.bob, "/");
    await expect(chat.input).toBeVisible();
    await expect(page.getByTestId("signed-in-as")).toHaveText(info.users.bob.email);
    await page.getByTestId("sign-out").click();
    await expect(page).toHaveURL(/\/sign-in/);
    await page.goto("/");
    await expect(page).toHaveURL(/\/sign-in\?next=%2F$/);
  });
});
