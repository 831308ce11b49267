import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeBlobStoreContract } from "../testing/port-contracts/blob-store";
import { FsBlobStore } from "./fs-blob-store";

const parent = mkdtempSync(join(tmpdir(), "fs-blob-"));
const dir = join(parent, "blobs");
afterAll(() => rmSync(parent, { recursive: true, force: true }));

describeBlobStoreContract("FsBlobStore", () => new FsBlobStore({ dir }));

describe("FsBlobStore specifics", () => {
  it("writes under its directory only and leaves no temporary files", async () => {
    const store = new FsBlobStore({ dir });
    await store.put("u/state.bin", new Uint8Array([1]));
    expect(readdirSync(join(dir, "u"))).toEqual(["state.bin"]);
    await expect(store.put("../outside.bin", new Uint8Array([1]))).rejects.toMatchObject({
      code: "bad_request",
      message: "invalid blob key",
    });
    expect(existsSync(join(parent, "outside.bin"))).toBe(false);
  });

  it("removes directories a delete left empty", async () => {
    const store = new FsBlobStore({ dir });
    await store.put("gone/deep/x.bin", new Uint8Array([1]));
    await store.delete("gone/deep/x.bin");
    expect(existsSync(join(dir, "gone"))).toBe(false);
    expect(existsSync(dir)).toBe(true);
  });
});
