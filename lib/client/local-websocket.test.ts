import { describe, expect, it } from "vitest";
import { installLocalWebSocket, rewriteLocalWebSocketUrl } from "./local-websocket";

describe("rewriteLocalWebSocketUrl", () => {
  it.each([
    ["wss://127.0.0.1:4311/event/realtime", "ws://127.0.0.1:4311/event/realtime"],
    ["wss://localhost:4311/event/realtime?x=1", "ws://localhost:4311/event/realtime?x=1"],
    ["wss://[::1]:4311/event/realtime", "ws://[::1]:4311/event/realtime"],
    ["ws://127.0.0.1:4311/event/realtime", "ws://127.0.0.1:4311/event/realtime"],
    [
      "wss://abc.appsync-realtime-api.us-east-1.amazonaws.com/event/realtime",
      "wss://abc.appsync-realtime-api.us-east-1.amazonaws.com/event/realtime",
    ],
    ["wss://127.0.0.1.evil.example/event/realtime", "wss://127.0.0.1.evil.example/event/realtime"],
    ["wss://localhost.evil.example/event/realtime", "wss://localhost.evil.example/event/realtime"],
    ["not a url", "not a url"],
  ])("%s -> %s", (input, output) => {
    expect(rewriteLocalWebSocketUrl(input)).toBe(output);
  });
});

describe("installLocalWebSocket", () => {
  class FakeWebSocket {
    url: string;
    protocols?: string | string[];
    constructor(url: string | URL, protocols?: string | string[]) {
      this.url = String(url);
      this.protocols = protocols;
    }
  }

  it("wraps the constructor, is idempotent, and restores it", () => {
    const target = { WebSocket: FakeWebSocket as unknown as typeof WebSocket };
    const restore = installLocalWebSocket(target);
    const Wrapped = target.WebSocket;
    expect(Wrapped).not.toBe(FakeWebSocket);
    const ws = new Wrapped("wss://127.0.0.1:1/event/realtime", [
      "aws-appsync-event-ws",
    ]) as unknown as FakeWebSocket;
    expect(ws.url).toBe("ws://127.0.0.1:1/event/realtime");
    expect(ws.protocols).toEqual(["aws-appsync-event-ws"]);
    expect(ws).toBeInstanceOf(FakeWebSocket);
    const aws = new Wrapped(
      "wss://x.appsync-realtime-api.eu-west-1.amazonaws.com/event/realtime",
    ) as unknown as FakeWebSocket;
    expect(aws.url).toBe("wss://x.appsync-realtime-api.eu-west-1.amazonaws.com/event/realtime");

    installLocalWebSocket(target);
    expect(target.WebSocket).toBe(Wrapped);
    restore();
    expect(target.WebSocket).toBe(FakeWebSocket);
  });

  it("throws without a WebSocket to wrap", () => {
    expect(() => installLocalWebSocket({})).toThrow(/no global WebSocket/);
  });
});
