import { createSyncCrons } from "dink-convex";
import { internal } from "./_generated/api";
export default createSyncCrons({ internal });
