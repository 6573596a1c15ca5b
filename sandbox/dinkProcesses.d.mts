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
}

export interface Gateway {
  natsUrl: string;
  httpUrl: string;
  proc: Proc;
  dataDir: string;
  stop: () => Promise<void>;
}
export declare function startGateway(): Promise<Gateway>;

export interface DevSetup {
  appId: string;
  syncKey: string;
  adminKey: string;
  edgeKeys: Record<string, string>;
}
export declare function devSetup(natsUrl: string, appName: string, edgeNames: string[]): Promise<DevSetup>;
export declare function startEdge(natsUrl: string, key: string): Promise<Proc>;
export declare function keyId(key: string): string;
export declare function keyRequest(
  natsUrl: string,
  key: string,
  subject: string,
  body: unknown,
): Promise<{ success: boolean; data?: unknown; error?: { code: string; message: string } }>;
