import { AppError } from "../errors";

/*
 * Blob keys shared by the S3 and filesystem stores, so a key that works locally works in
 * AWS and the other way round. A key is 1-1024 characters of `/`-separated segments made
 * of letters, digits, `.`, `_` and `-`; no segment is empty or starts with a dot, which
 * rules out `..` and absolute paths (the filesystem store's traversal guard) and keeps
 * the filesystem store's temporary files (`.tmp-*`) out of the key space.
 */

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
export const MAX_BLOB_KEY_LENGTH = 1024;

export function checkBlobKey(key: string): string {
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_BLOB_KEY_LENGTH)
    throw new AppError("bad_request", "invalid blob key");
  for (const seg of key.split("/"))
    if (!SEGMENT.test(seg)) throw new AppError("bad_request", "invalid blob key");
  return key;
}

/** A listing prefix: empty, or a key, or a key followed by `/`, or the start of a segment. */
export function checkBlobPrefix(prefix: string): string {
  if (prefix === "") return prefix;
  checkBlobKey(prefix.endsWith("/") ? prefix.slice(0, -1) : prefix);
  return prefix;
}
