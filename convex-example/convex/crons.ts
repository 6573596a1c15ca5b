import { createSyncCrons } from "dink-convex";
import { internal } from "./_generated/api";
const crons = createSyncCrons({ internal });
export default crons;
