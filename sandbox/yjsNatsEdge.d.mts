import { SimulatedEdge } from "@dink-convex/testkit";

export declare class YjsNatsEdge extends SimulatedEdge {
  constructor(options: {
    natsUrl: string;
    key: string;
    appId: string;
    edgeId: string;
    clientId: number;
    collection?: string;
  });
  /** `gaps`: fan-out batches whose seq did not follow; `tailCatchups`: catch-ups after two
   * `hello` answers in a row showed the head past the last event received. */
  stats: Record<
    "applied" | "duplicate" | "noop" | "rejected" | "resent" | "events" | "gaps" | "tailCatchups" | "catchups",
    number
  >;
  rejections: { doc_id: string; op_id: string; error: unknown }[];
  lastSeq: number;
  /** Called with the doc id after a change of its collection was applied (fan-out or catch-up). */
  onReceived: ((docId: string) => void) | null;
  start(): Promise<this>;
  catchUp(): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}
