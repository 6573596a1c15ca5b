import { defineApp } from "convex/server";
import dink from "dink-convex/component";
const app = defineApp();
app.use(dink);
export default app;
