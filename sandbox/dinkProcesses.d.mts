import type { ChildProcess } from "node:child_process";

export declare const ROOT: string;
export declare function buildBinaries(profile?: "debug" | "release"): void;
export declare function freePort(): Promise<number>;
export declare const sleep: (ms: number) => Promise<void>;
export declare function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs?: number,
): Promise<NonNullable<T>>;

/** A started process with its output so far. */
export interface Proc {
  child: ChildProcess;
  output: () => string;
  /** Resolves when the process has exited (its code, or null when killed). */
  exited: Promise<number | null>;
  stop: () => Promise<void>;
  /** SIGKILL, as a crash would end it. */
  kill: () => Promise<void>;
}

export interface Gateway {
  natsUrl: string;
  natsPort: number;
  httpPort: number;
  httpUrl: string;
  proc: Proc;
  dataDir: string;
  stop: () => Promise<void>;
}
export interface GatewayOptions {
  natsPort?: number;
  httpPort?: number;
  dataDir?: string;
  args?: string[];
}
export declare function startGateway(options?: GatewayOptions): Promise<Gateway>;

export interface ServeGateway {
  httpPort: number;
  httpUrl: string;
  proc: Proc;
  stop: () => Promise<void>;
}
export declare function startServeGateway(
  dev: Pick<Gateway, "natsUrl" | "dataDir">,
  options?: { httpPort?: number; args?: string[] },
): Promise<ServeGateway>;

export interface DevSetup {
  appId: string;
  syncKey: string;
  adminKey: string;
  edgeKeys: Record<string, string>;
}
export declare function devSetup(natsUrl: string, appName: string, edgeNames: string[]): Promise<DevSetup>;
export declare function startEdge(natsUrl: string, key: string): Promise<Proc>;
export declare function keyId(key: string): string;
export declare const DINK_CLI: string;
export declare function startTunnel(
  natsUrl: string,
  key: string,
  options: { port: number; name: string },
): Promise<{ proc: Proc; url: string }>;
export declare function keyRequest(
  natsUrl: string,
  key: string,
  subject: string,
  body: unknown,
): Promise<{ success: boolean; data?: unknown; error?: { code: string; message: string } }>;

/** A reply of the edge's control protocol (docs/edge.md). */
export interface EdgeReply {
  id?: number;
  ok: boolean;
  error?: { code: string; message: string };
  [key: string]: unknown;
}
/** An unsolicited line of the edge's control protocol: `online`, `rejected`, `kicked`, … */
export interface EdgeEvent {
  event: string;
  [key: string]: unknown;
}
export interface EdgeRow {
  doc_id: string;
  fields: Record<string, unknown>;
  deleted: boolean;
  status: { state: "local" | "sent" | "applied" | "rejected"; version?: number; error?: unknown };
}
export interface SyncEdge {
  proc: Proc;
  events: EdgeEvent[];
  exited: Promise<number | null>;
  cmd: (command: { cmd: string; [key: string]: unknown }, timeoutMs?: number) => Promise<EdgeReply>;
  waitEvent: (what: string, pred: (e: EdgeEvent) => boolean, timeoutMs?: number) => Promise<EdgeEvent>;
  rows: (collection: string) => Promise<EdgeRow[]>;
  stop: () => Promise<void>;
  kill: () => Promise<void>;
}
export declare function startSyncEdge(
  natsUrl: string,
  key: string,
  options: {
    store: string;
    collections: string[];
    heartbeatSecs?: number;
    waitOnline?: boolean;
    pushTimeoutSecs?: number;
  },
): Promise<SyncEdge>;
export declare function configureConvex(
  natsUrl: string,
  key: string,
  config: { appId: string; siteUrl: string; syncKey: string },
): Promise<unknown>;
