import type { DevSetup, Gateway, SyncEdge } from "./dinkProcesses.mjs";

export interface ConvexSite {
  url: string;
  stats: {
    requests: number;
    served: number;
    faulted: number;
    byPath: Record<string, number>;
    /** Time spent in the app (convex-test) per path, ms. */
    msByPath: Record<string, number>;
  };
  faults: { status: number; hang: boolean; failNext: number };
  clearFaults: () => void;
  close: () => Promise<void>;
}

export type Rows = Map<string, Record<string, unknown>>;

export interface SyncLoop {
  readonly gateway: Gateway;
  setup: DevSetup;
  site: ConvexSite;
  /** The interval drain's runs and the time they took in all (ms). */
  drain: { runs: number; errors: number; lastError: string; paused: boolean; ms: number };
  edges: Map<string, SyncEdge>;
  collections: string[];
  startEdge: (name: string, options?: { key?: string; waitOnline?: boolean }) => Promise<SyncEdge>;
  newEdgeKey: (name: string) => Promise<string>;
  restartGateway: (options?: { kill?: boolean }) => Promise<Gateway>;
  admin: (
    subject: string,
    body: unknown,
  ) => Promise<{ success: boolean; data?: unknown; error?: { code: string; message: string } }>;
  convexRows: (collection?: string) => Promise<Rows>;
  edgeRows: (name: string, collection?: string) => Promise<Rows>;
  settle: (timeoutMs?: number) => Promise<string[]>;
  differences: () => Promise<string[]>;
  drained: (timeoutMs?: number) => Promise<boolean>;
  edgeLogs: (lines?: number) => string;
  stop: () => Promise<void>;
}

export declare function startSyncLoop(options: {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  t: any;
  appName?: string;
  edgeNames: string[];
  collections?: string[];
  gatewayArgs?: string[];
  drainEveryMs?: number;
  /** How long an edge waits for a push's answer before resending (dink-edge --push-timeout-secs). */
  edgePushTimeoutSecs?: number;
  log?: (msg: string) => void;
}): Promise<SyncLoop>;
