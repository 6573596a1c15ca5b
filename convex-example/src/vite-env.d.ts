/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The deployment URL `npx convex dev` writes to `.env.local` (e.g. https://happy-otter-123.convex.cloud). */
  readonly VITE_CONVEX_URL?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
