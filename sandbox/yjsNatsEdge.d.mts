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
  stats: Record<"applied" | "duplicate" | "noop" | "rejected" | "resent" | "events" | "gaps" | "catchups", number>;
  rejections: { doc_id: string; op_id: string; error: unknown }[];
  lastSeq: number;
  /** Called with the doc id after a fan-out event for its collection was applied. */
  onReceived: ((docId: string) => void) | null;
  start(): Promise<this>;
  catchUp(): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}
