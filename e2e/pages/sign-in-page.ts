import { expect, type Page } from "@playwright/test";
import type { E2eUser } from "../support/info";

export class SignInPage {
  constructor(private readonly page: Page) {}

  get form() {
    return this.page.getByTestId("sign-in-form");
  }
  get error() {
    return this.page.getByTestId("sign-in-error");
  }

  /** Fills and submits the form on the current page (which must be /sign-in). */
  async submit(email: string, password: string): Promise<void> {
    await this.page.getByTestId("sign-in-email").fill(email);
    await this.page.getByTestId("sign-in-password").fill(password);
    await this.page.getByTestId("sign-in-submit").click();
  }

  /** Opens `path`, which redirects to sign-in, signs in, and waits to be back on `path`. */
  async signInTo(user: E2eUser, path = "/"): Promise<void> {
    await this.page.goto(path);
    await expect(this.form).toBeVisible();
    await this.submit(user.email, user.password);
    await expect(this.page).not.toHaveURL(/\/sign-in/);
  }
}
