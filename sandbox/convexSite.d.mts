import type { ConvexSite } from "./syncLoop.mjs";

export declare function startConvexSite(t: {
  fetch: (url: string, init: object) => Promise<Response>;
}): Promise<ConvexSite & { readonly requests: number }>;
