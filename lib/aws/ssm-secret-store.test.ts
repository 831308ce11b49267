import {
  DeleteParameterCommand,
  GetParameterCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { newUserId } from "../testing/port-contracts/helpers";
import { describeSecretStoreContract } from "../testing/port-contracts/secret-store";
import { SsmSecretStore } from "./ssm-secret-store";

/*
 * SSM has no local stand-in: the adapter runs the SecretStore contract against an
 * in-memory parameter map behind aws-sdk-client-mock, and the request shapes are checked.
 */

const client = new SSMClient({
  region: "us-east-1",
  credentials: { accessKeyId: "x", secretAccessKey: "y" },
});
const ssm = mockClient(client);
const parameters = new Map<string, string>();
const notFound = () => new ParameterNotFound({ message: "not found", $metadata: {} });

function installFake(): void {
  ssm.reset();
  ssm.on(GetParameterCommand).callsFake((input: { Name: string; WithDecryption?: boolean }) => {
    const value = parameters.get(input.Name);
    if (value === undefined) throw notFound();
    return {
      Parameter: {
        Name: input.Name,
        Type: "SecureString",
        Value: input.WithDecryption ? value : "AQICAH-cipher",
      },
    };
  });
  ssm.on(PutParameterCommand).callsFake((input: { Name: string; Value: string; Overwrite?: boolean }) => {
    if (parameters.has(input.Name) && !input.Overwrite) throw new Error("ParameterAlreadyExists");
    parameters.set(input.Name, input.Value);
    return { Version: 1, Tier: "Standard" };
  });
  ssm.on(DeleteParameterCommand).callsFake((input: { Name: string }) => {
    if (!parameters.delete(input.Name)) throw notFound();
    return {};
  });
}
installFake();
afterAll(() => {
  ssm.restore();
  client.destroy();
});

describeSecretStoreContract(
  "SsmSecretStore (mocked SSM)",
  () => new SsmSecretStore({ client, prefix: "/openclaw/test" }),
);

describe("SsmSecretStore request shapes", () => {
  beforeEach(installFake);

  it("writes a standard-tier SecureString under <prefix>/<userId>/<name>, overwriting", async () => {
    const store = new SsmSecretStore({ client, prefix: "/openclaw/prod" });
    const user = newUserId();
    await store.putSecret(user, "llm-api-key", "sk-shape");
    expect(ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input)).toEqual([
      {
        Name: `/openclaw/prod/${user}/llm-api-key`,
        Value: "sk-shape",
        Type: "SecureString",
        Tier: "Standard",
        Overwrite: true,
      },
    ]);
  });

  it("decrypts only when the value is needed", async () => {
    const store = new SsmSecretStore({ client, prefix: "/openclaw/prod" });
    const user = newUserId();
    await store.putSecret(user, "llm-api-key", "sk-shape");
    expect(await store.hasSecret(user, "llm-api-key")).toBe(true);
    expect(await store.getSecret(user, "llm-api-key")).toBe("sk-shape");
    expect(ssm.commandCalls(GetParameterCommand).map((c) => c.args[0].input.WithDecryption)).toEqual([
      false,
      true,
    ]);
  });

  it("rejects a prefix that would produce malformed names", () => {
    for (const prefix of ["", "openclaw", "/openclaw/", "/a//b", "/a b"])
      expect(() => new SsmSecretStore({ client, prefix })).toThrow("invalid SSM prefix");
  });

  it("passes other SSM errors through", async () => {
    ssm.on(GetParameterCommand).rejects(new Error("ThrottlingException"));
    const store = new SsmSecretStore({ client, prefix: "/openclaw/prod" });
    await expect(store.getSecret(newUserId(), "llm-api-key")).rejects.toThrow("ThrottlingException");
  });
});
