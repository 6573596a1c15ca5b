import { createSyncHttpRouter } from "dink-convex";
import { httpAction } from "./_generated/server";
import { api } from "./_generated/api";
export default createSyncHttpRouter({ httpAction, api });
