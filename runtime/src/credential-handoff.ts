import { closeSync, fstatSync, readFileSync } from "node:fs";
import { z } from "zod";

/*
 * In ECS, the agent puts the task role's credential path in the initial environment of
 * every process in the container. Linux keeps a process's initial environment readable at
 * /proc/<pid>/environ for its whole life, to every process of the same Unix user, and
 * OpenClaw's shell tool runs as that user. So the container's entry point
 * (runtime/entrypoint.sh) takes these variables out of the runner's environment and hands
 * them over on file descriptor 3 instead. The runner reads them into `process.env` here, first
 * thing. Variables set at run time live on the heap, not in /proc/<pid>/environ, and the
 * OpenClaw child never gets them: its environment is an allowlist
 * (openclaw/child-env.ts).
 */

/** The variables the entry point hands over: ECS's container credential provider's inputs. */
export const HANDED_OFF = [
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
] as const;

const lineSchema = z
  .string()
  .max(4_096)
  .regex(/^[A-Z_]+=[\x20-\x7e]*$/, "not NAME=value with printable ASCII");

/**
 * Reads `NAME=value` lines from the descriptor named by `RUNTIME_HANDOFF_FD` (the entry point
 * sets it to 3) into `env`, and closes it. Only the names in HANDED_OFF are taken; an empty
 * value is skipped. Without the variable (local mode, tests) it does nothing: in a Node
 * process the low descriptors otherwise belong to libuv. Returns the names it set.
 */
export function takeHandedOffEnv(env: Record<string, string | undefined> = process.env): string[] {
  const named = env.RUNTIME_HANDOFF_FD;
  if (named === undefined) return [];
  delete env.RUNTIME_HANDOFF_FD;
  const fd = /^\d{1,5}$/.test(named) ? Number(named) : -1;
  if (fd < 3) throw new Error("RUNTIME_HANDOFF_FD must name a descriptor of 3 or more");
  let kind: ReturnType<typeof fstatSync>;
  try {
    kind = fstatSync(fd);
  } catch {
    throw new Error(`RUNTIME_HANDOFF_FD names descriptor ${fd}, which is not open`);
  }
  if (!kind.isFIFO() && !kind.isFile())
    throw new Error(`RUNTIME_HANDOFF_FD names descriptor ${fd}, which is not a pipe or a file`);
  let text: string;
  try {
    text = readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
  if (text.length > 16_384) throw new Error("the credential hand-off is too large");
  const set: string[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const parsed = lineSchema.safeParse(line);
    // Never echo the line: it may be a credential.
    if (!parsed.success) throw new Error("the credential hand-off has a malformed line");
    const at = line.indexOf("=");
    const name = line.slice(0, at);
    const value = line.slice(at + 1);
    if (!(HANDED_OFF as readonly string[]).includes(name) || !value) continue;
    env[name] = value;
    set.push(name);
  }
  return set;
}
