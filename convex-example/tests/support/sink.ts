/**
 * A stand-in for dinkd's convex-push on 127.0.0.1 (node:http): records every request, and
 * answers as the test's script says (status, delay, or hang until the client gives up). It
 * tracks how many requests, and how many copies of each event id, are in flight at once.
 */
import { afterEach, beforeEach, vi } from "vitest";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface PushRequest {
  index: number;
  authorization: string | undefined;
  path: string;
  body: { version: number; app_sync: boolean; events: { event_id: string; [k: string]: unknown }[] };
  status: number | "hang";
}

export type Reply = { status: number; delayMs?: number; body?: string } | "hang";

export interface Sink {
  url: string;
  requests: PushRequest[];
  /** Event ids answered 2xx, in order (with repeats, if any). */
  delivered: string[];
  maxInFlight: number;
  /** Largest number of in-flight requests carrying one event id. */
  maxEventInFlight: number;
  reply: (request: PushRequest) => Reply;
  close: () => Promise<void>;
}

export async function startSink(reply: (request: PushRequest) => Reply = () => ({ status: 200 })): Promise<Sink> {
  const inFlightEvents = new Map<string, number>();
  const open = new Set<ServerResponse>();
  let inFlight = 0;
  const sink: Sink = {
    url: "",
    requests: [],
    delivered: [],
    maxInFlight: 0,
    maxEventInFlight: 0,
    reply,
    close: async () => {
      for (const res of open) res.destroy();
      // Keep-alive sockets would hold close() for seconds.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as PushRequest["body"];
      const request: PushRequest = {
        index: sink.requests.length,
        authorization: req.headers.authorization,
        path: req.url ?? "",
        body,
        status: 0,
      };
      sink.requests.push(request);
      const ids = body.events.map((e) => e.event_id);
      inFlight += 1;
      sink.maxInFlight = Math.max(sink.maxInFlight, inFlight);
      for (const id of ids) {
        const n = (inFlightEvents.get(id) ?? 0) + 1;
        inFlightEvents.set(id, n);
        sink.maxEventInFlight = Math.max(sink.maxEventInFlight, n);
      }
      const done = () => {
        inFlight -= 1;
        for (const id of ids) inFlightEvents.set(id, (inFlightEvents.get(id) ?? 1) - 1);
      };
      const answer = sink.reply(request);
      if (answer === "hang") {
        request.status = "hang";
        open.add(res);
        // The client aborts; the request counts as in flight until its socket closes.
        res.on("close", () => {
          open.delete(res);
          done();
        });
        return;
      }
      request.status = answer.status;
      setTimeout(() => {
        if (answer.status >= 200 && answer.status < 300) sink.delivered.push(...ids);
        done();
        res.writeHead(answer.status, { "Content-Type": "application/json" });
        res.end(
          answer.body ??
            (answer.status < 300
              ? JSON.stringify({ version: 1, success: true, data: { accepted: ids.length } })
              : JSON.stringify({
                  version: 1,
                  success: false,
                  error: { code: "TEST", message: `status ${answer.status}` },
                })),
        );
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return sink;
}

/**
 * For each test of the calling file or block: a fresh sink as the app's dinkd
 * (`DINK_HTTP_URL`, `DINK_APP_SYNC_KEY` = `syncKey`), handed to `use` before the test runs, and
 * closed (with the env restored) after it.
 */
export function withSinkEnv(use: (sink: Sink) => void, syncKey = "test-sync-key"): void {
  let current: Sink | undefined;
  beforeEach(async () => {
    current = await startSink();
    use(current);
    vi.stubEnv("DINK_HTTP_URL", current.url);
    vi.stubEnv("DINK_APP_SYNC_KEY", syncKey);
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await current?.close();
  });
}
