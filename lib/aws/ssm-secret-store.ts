import {
  DeleteParameterCommand,
  GetParameterCommand,
  PutParameterCommand,
  type SSMClient,
} from "@aws-sdk/client-ssm";
import { type SecretName, secretNameSchema, userIdSchema } from "../contracts";
import { AppError } from "../errors";
import type { SecretStore } from "../ports";

function isParameterNotFound(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { name?: string }).name === "ParameterNotFound";
}

/**
 * SecretStore on SSM Parameter Store: one standard-tier SecureString per secret at
 * `<prefix>/<userId>/<name>`, encrypted with the account's `aws/ssm` key (standard
 * parameters are free; Secrets Manager would cost per secret). The task role's grant can
 * be scoped to `<prefix>/*`. Values never appear in errors or logs.
 */
export class SsmSecretStore implements SecretStore {
  private readonly client: SSMClient;
  private readonly prefix: string;

  constructor(opts: { client: SSMClient; prefix: string }) {
    if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(opts.prefix))
      throw new Error(
        `invalid SSM prefix ${JSON.stringify(opts.prefix)}: expected /a/b without a trailing /`,
      );
    this.client = opts.client;
    this.prefix = opts.prefix;
  }

  /** The parameter name of a user's secret. */
  parameterName(userId: string, name: SecretName): string {
    if (!userIdSchema.safeParse(userId).success) throw new AppError("bad_request", "invalid user id");
    if (!secretNameSchema.safeParse(name).success) throw new AppError("bad_request", "unknown secret name");
    return `${this.prefix}/${userId}/${name}`;
  }

  async getSecret(userId: string, name: SecretName): Promise<string | undefined> {
    try {
      const res = await this.client.send(
        new GetParameterCommand({ Name: this.parameterName(userId, name), WithDecryption: true }),
      );
      return res.Parameter?.Value;
    } catch (err) {
      if (isParameterNotFound(err)) return undefined;
      throw err;
    }
  }

  async putSecret(userId: string, name: SecretName, value: string): Promise<void> {
    const parameter = this.parameterName(userId, name);
    if (typeof value !== "string" || value.length === 0 || value.length > 4096)
      throw new AppError("bad_request", "secret value must be 1-4096 characters");
    await this.client.send(
      new PutParameterCommand({
        Name: parameter,
        Value: value,
        Type: "SecureString",
        Tier: "Standard",
        Overwrite: true,
      }),
    );
  }

  async deleteSecret(userId: string, name: SecretName): Promise<void> {
    try {
      await this.client.send(new DeleteParameterCommand({ Name: this.parameterName(userId, name) }));
    } catch (err) {
      if (!isParameterNotFound(err)) throw err;
    }
  }

  async hasSecret(userId: string, name: SecretName): Promise<boolean> {
    try {
      // Without decryption: answering "is there a key" needs no KMS call.
      await this.client.send(
        new GetParameterCommand({ Name: this.parameterName(userId, name), WithDecryption: false }),
      );
      return true;
    } catch (err) {
      if (isParameterNotFound(err)) return false;
      throw err;
    }
  }
}
