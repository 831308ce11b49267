import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import type { BlobStore } from "../ports";
import { checkBlobKey, checkBlobPrefix } from "./blob-keys";

export interface S3ClientOptions {
  region: string;
  /** An S3-compatible server (s3rver in tests); implies path-style addressing. */
  endpoint?: string;
  /** Only for a local server. In AWS the default provider chain is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * An S3 client that adds checksums only when an operation requires them: s3rver does not
 * understand the SDK's default CRC32 checksum trailers, and S3 accepts requests without them.
 */
export function createS3Client(opts: S3ClientOptions): S3Client {
  return new S3Client({
    region: opts.region,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    ...(opts.endpoint ? { endpoint: opts.endpoint, forcePathStyle: true } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
}

function errorName(err: unknown): string | undefined {
  return typeof err === "object" && err !== null ? (err as { name?: string }).name : undefined;
}

/** BlobStore on one S3 bucket. Keys follow lib/aws/blob-keys.ts in both directions. */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(opts: { client: S3Client; bucket: string }) {
    this.client = opts.client;
    this.bucket = opts.bucket;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: checkBlobKey(key) }),
      );
      if (!res.Body) return new Uint8Array();
      return await res.Body.transformToByteArray();
    } catch (err) {
      if (errorName(err) === "NoSuchKey" || errorName(err) === "NotFound") return undefined;
      throw err;
    }
  }

  async put(key: string, body: Uint8Array, opts: { contentType?: string } = {}): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: checkBlobKey(key),
        Body: body,
        ContentLength: body.byteLength,
        ContentType: opts.contentType ?? "application/octet-stream",
      }),
    );
  }

  async list(prefix: string): Promise<{ key: string; size: number; etag?: string }[]> {
    checkBlobPrefix(prefix);
    const out: { key: string; size: number; etag?: string }[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix || undefined,
          ContinuationToken: token,
        }),
      );
      for (const obj of res.Contents ?? []) {
        if (!obj.Key) continue;
        out.push({ key: obj.Key, size: obj.Size ?? 0, etag: obj.ETag?.replaceAll('"', "") });
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    // S3 answers 204 for a missing key too, so delete is idempotent without a check.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: checkBlobKey(key) }));
  }
}
