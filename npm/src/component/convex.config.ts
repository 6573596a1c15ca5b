/**
 * The dink component: the sync engine's control plane (metrics, audit log, dead letters), kept
 * out of the app's tables and off the hot path. Installed with `app.use(dink)`.
 */
import { defineComponent } from "convex/server";

const component = defineComponent("dink");
export default component;
