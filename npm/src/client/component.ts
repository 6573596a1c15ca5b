/**
 * References to the dink component's functions without the app passing `components`:
 * `componentsGeneric()` builds the same references as the app's generated `components` export.
 */
import { componentsGeneric } from "convex/server";
import type { ComponentApi } from "../component/_generated/component.js";

/** `components.<name>` of the app, typed with the component's API. */
export function dinkComponent(name: string = "dink"): ComponentApi {
  return (componentsGeneric() as unknown as Record<string, ComponentApi>)[name] as ComponentApi;
}
