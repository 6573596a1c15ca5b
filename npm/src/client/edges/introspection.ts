/**
 * What edges offer: `describeEdgeServices` (a service's descriptor, as its edges registered it)
 * and `getLLMContext` (llm.txt for one, several or all services, rendered from the descriptors).
 */
import { gatewayRequest } from "./gateway.js";
import { renderLLMText } from "./llmText.js";
import { CONTROL_TIMEOUT_MS, ROUTES } from "./routes.js";
import type { EdgeActionCtx } from "./rpc.js";
import type { ServiceDescriptor } from "./validators.js";
import { list, obj, serviceDescriptorOf } from "./wire.js";

/**
 * ```ts
 * const descriptor = await describeEdgeServices(ctx, "SensorService");
 * descriptor.methods?.map((m) => m.name);
 * ```
 */
export async function describeEdgeServices(_ctx: EdgeActionCtx, serviceName: string): Promise<ServiceDescriptor> {
  const data = await gatewayRequest<unknown>({
    method: "GET",
    path: ROUTES.service(serviceName),
    timeoutMs: CONTROL_TIMEOUT_MS,
  });
  return serviceDescriptorOf(data, "data");
}

/** Every registered service's descriptor (services without one are skipped). */
async function allDescriptors(): Promise<ServiceDescriptor[]> {
  const data = await gatewayRequest<unknown>({ method: "GET", path: ROUTES.services, timeoutMs: CONTROL_TIMEOUT_MS });
  const out: ServiceDescriptor[] = [];
  list(data, "data").forEach((item, i) => {
    const info = obj(item, `data[${i}]`);
    if (info.descriptor !== undefined && info.descriptor !== null)
      out.push(serviceDescriptorOf(info.descriptor, `data[${i}].descriptor`));
  });
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * llm.txt for the named services, or for every service edges registered.
 *
 * ```ts
 * const docs = await getLLMContext(ctx, ["SensorService"]);
 * ```
 */
export async function getLLMContext(ctx: EdgeActionCtx, serviceNames?: string[]): Promise<string> {
  const descriptors =
    serviceNames === undefined
      ? await allDescriptors()
      : await Promise.all(serviceNames.map((name) => describeEdgeServices(ctx, name)));
  return descriptors.map(renderLLMText).join("\n");
}
