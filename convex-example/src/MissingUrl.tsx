/** Shown when the build has no VITE_CONVEX_URL: the page cannot reach a deployment. */
export function MissingUrl() {
  return (
    <div role="alert" style={{ padding: "1rem", border: "1px solid #c00", borderRadius: 6 }}>
      <strong>VITE_CONVEX_URL is not set.</strong>
      <p>
        Run <code>npx convex dev</code> in <code>convex-example/</code> (it writes the deployment URL to{" "}
        <code>.env.local</code>), then restart <code>npx vite</code> or rebuild with <code>npm run build:web</code>.
      </p>
    </div>
  );
}
