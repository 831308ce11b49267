import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../errors";
import type { BlobStore } from "../../ports";

const bytes = (...values: number[]) => new Uint8Array(values);

/** The BlobStore contract: every implementation must pass it. */
export function describeBlobStoreContract(
  name: string,
  makeStore: () => BlobStore | Promise<BlobStore>,
): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    // Each test works under its own prefix, so tests sharing a store stay independent.
    let root: string;
    beforeAll(async () => {
      store = await makeStore();
    });
    const fresh = () => {
      root = `t-${randomUUID()}`;
      return root;
    };

    it("round-trips every byte value, and a put replaces the previous body", async () => {
      const key = `${fresh()}/state/snapshot.tar.gz`;
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      await store.put(key, all, { contentType: "application/gzip" });
      expect(await store.get(key)).toEqual(all);
      await store.put(key, bytes(9, 8, 7));
      expect(await store.get(key)).toEqual(bytes(9, 8, 7));
    });

    it("returns undefined for a missing key and stores an empty body", async () => {
      const base = fresh();
      expect(await store.get(`${base}/missing`)).toBeUndefined();
      await store.put(`${base}/empty`, new Uint8Array());
      expect(await store.get(`${base}/empty`)).toEqual(new Uint8Array());
    });

    it("round-trips a multi-megabyte body", async () => {
      const key = `${fresh()}/big.bin`;
      const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 31) % 251);
      await store.put(key, big);
      const got = await store.get(key);
      // Buffer.equals: a deep toEqual over millions of bytes takes seconds.
      expect(got && Buffer.from(got).equals(Buffer.from(big))).toBe(true);
    });

    it("lists by string prefix, sorted, with sizes and content fingerprints", async () => {
      const base = fresh();
      await store.put(`${base}/a/one.bin`, bytes(1));
      await store.put(`${base}/a/two.bin`, bytes(1, 2));
      await store.put(`${base}/a/deep/three.bin`, bytes(1, 2, 3));
      await store.put(`${base}/ab/four.bin`, bytes(1));
      await store.put(`${base}/b.bin`, bytes(2));

      const underA = await store.list(`${base}/a/`);
      expect(underA.map((x) => [x.key, x.size])).toEqual([
        [`${base}/a/deep/three.bin`, 3],
        [`${base}/a/one.bin`, 1],
        [`${base}/a/two.bin`, 2],
      ]);
      // As in S3, a prefix need not end at a segment boundary.
      expect((await store.list(`${base}/a`)).map((x) => x.key)).toEqual([
        `${base}/a/deep/three.bin`,
        `${base}/a/one.bin`,
        `${base}/a/two.bin`,
        `${base}/ab/four.bin`,
      ]);
      expect(await store.list(`${base}/zzz/`)).toEqual([]);
      expect(await store.list(`${base}-nothing`)).toEqual([]);

      const [one] = underA.filter((x) => x.key.endsWith("one.bin"));
      const [four] = await store.list(`${base}/ab/`);
      const [two] = underA.filter((x) => x.key.endsWith("two.bin"));
      expect(one?.etag).toBeTruthy();
      expect(one?.etag).toBe(four?.etag);
      expect(one?.etag).not.toBe(two?.etag);
    });

    it("deletes idempotently", async () => {
      const base = fresh();
      await store.put(`${base}/x/y.bin`, bytes(1));
      await store.delete(`${base}/x/y.bin`);
      expect(await store.get(`${base}/x/y.bin`)).toBeUndefined();
      expect(await store.list(`${base}/`)).toEqual([]);
      await store.delete(`${base}/x/y.bin`);
      await store.delete(`${base}/never`);
    });

    it("rejects keys that could escape or be ambiguous with bad_request", async () => {
      const base = fresh();
      for (const key of [
        "",
        "../escape",
        `${base}/../../escape`,
        "/absolute",
        `${base}//double`,
        `${base}/trailing/`,
        `${base}/back\\slash`,
        `${base}/.hidden`,
        `${base}/nul\u0000byte`,
        "x".repeat(1025),
      ]) {
        for (const op of [() => store.get(key), () => store.put(key, bytes(1)), () => store.delete(key)]) {
          const err = await op().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err, JSON.stringify(key.slice(0, 40))).toBeInstanceOf(AppError);
          expect((err as AppError).code).toBe("bad_request");
        }
      }
      await expect(store.list("../")).rejects.toBeInstanceOf(AppError);
      await expect(store.list("a/../")).rejects.toBeInstanceOf(AppError);
    });
  });
}
