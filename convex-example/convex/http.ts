import { createSyncHttpRouter } from "dink-convex";
import { httpAction } from "./_generated/server";
import { api } from "./_generated/api";
const http = createSyncHttpRouter({ httpAction, api });
export default http;
