/*
 * One JSON line per log record on stdout (CloudWatch in AWS, a file in local mode).
 * Callers pass ids, sizes and codes as fields, never message text or secrets.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, string | number | boolean | undefined | null>;
export type Logger = (level: LogLevel, msg: string, fields?: LogFields) => void;

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(
  minLevel: LogLevel = "info",
  write: (line: string) => void = (l) => process.stdout.write(l),
): Logger {
  return (level, msg, fields) => {
    if (ORDER[level] < ORDER[minLevel]) return;
    write(`${JSON.stringify({ t: new Date().toISOString(), level, msg, ...fields })}\n`);
  };
}

/** A short, secret-free description of an error for logs: its name, code and first line. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const first = (err.message.split("\n")[0] ?? "").slice(0, 300);
    return `${err.name}${typeof code === "string" ? `(${code})` : ""}: ${first}`;
  }
  return String(err).slice(0, 300);
}
