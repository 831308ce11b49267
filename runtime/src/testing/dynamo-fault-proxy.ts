import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/*
 * A DynamoDB outage on demand: an HTTP proxy on 127.0.0.1 in front of dynalite. A process
 * pointed at it (through a copy of cloud.json with the proxy's endpoint) sees every call go
 * through, until `outage` makes the matching calls fail for a while: "reset" drops the
 * connection (the SDK sees a network error), "stall" holds the request until the outage
 * ends and only then forwards it. Calls are matched on their `x-amz-target` operation.
 */

export type FaultMode = "reset" | "stall";

export interface DynamoFaultProxy {
  readonly endpoint: string;
  /** Operations seen (`UpdateItem`, `Query`, …), with how many were faulted. */
  readonly calls: { op: string; faulted: boolean; at: number }[];
  /** Fails the calls whose operation is in `ops` (all when omitted) for `forMs`. */
  outage(forMs: number, opts?: { ops?: string[]; mode?: FaultMode }): Promise<void>;
  close(): Promise<void>;
}

export async function startDynamoFaultProxy(target: string): Promise<DynamoFaultProxy> {
  const upstream = new URL(target);
  const calls: DynamoFaultProxy["calls"] = [];
  let fault: { until: number; ops?: Set<string>; mode: FaultMode; over: Promise<void> } | undefined;

  const server: Server = createServer((req, res) => {
    const op =
      String(req.headers["x-amz-target"] ?? "")
        .split(".")
        .pop() ?? "";
    const active = fault && Date.now() < fault.until && (!fault.ops || fault.ops.has(op)) ? fault : undefined;
    calls.push({ op, faulted: active !== undefined, at: Date.now() });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (active?.mode === "reset") {
        req.socket.destroy();
        return;
      }
      const forward = () => {
        const up = request(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (upRes) => {
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            upRes.pipe(res);
          },
        );
        up.on("error", () => res.destroy());
        up.end(Buffer.concat(chunks));
      };
      if (active) void active.over.then(forward);
      else forward();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    outage: async (forMs, opts = {}) => {
      const over = new Promise<void>((r) => setTimeout(r, forMs));
      fault = {
        until: Date.now() + forMs,
        ops: opts.ops ? new Set(opts.ops) : undefined,
        mode: opts.mode ?? "reset",
        over,
      };
      await over;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
