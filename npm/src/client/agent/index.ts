/** `dink-convex/agent`: edge services as AI agent tools. */
export {
  dinkToolsFromDescriptor,
  dinkToolsFromRuntime,
  DinkToolError,
  type DinkTool,
  type DinkToolOptions,
  type InjectedValue,
} from "./tools.js";
export { toAISDKTools, dinkToolsToAgentTools } from "./adapters.js";
export { toolName, type ToolNameFormat } from "./names.js";
