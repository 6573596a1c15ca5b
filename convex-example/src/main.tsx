/**
 * Entry point: connects the page to the deployment named by VITE_CONVEX_URL.
 * Without it there is nothing to talk to, so the page says how to get one instead of failing
 * inside the Convex client.
 */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { ConvexProvider, ConvexReactClient } from "convex/react";
import { TaskList } from "./TaskList";
import { MissingUrl } from "./MissingUrl";

const rootElement = document.getElementById("root");
if (!rootElement) throw new Error('index.html has no <div id="root">');

const url = import.meta.env.VITE_CONVEX_URL;

createRoot(rootElement).render(
  <StrictMode>
    <main style={{ fontFamily: "system-ui, sans-serif", maxWidth: 480, margin: "2rem auto" }}>
      <h1>Tasks</h1>
      {url ? (
        <ConvexProvider client={new ConvexReactClient(url)}>
          <TaskList />
        </ConvexProvider>
      ) : (
        <MissingUrl />
      )}
    </main>
  </StrictMode>,
);
