import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The page only. Convex functions in convex/ are bundled by the Convex CLI, not by Vite.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true },
});
