/**
 * convex-test harness for the example app: the app's schema and modules plus the dink
 * component, registered the way a user of `dink-convex/test` does it.
 */
import { convexTest } from "convex-test";
import { register } from "dink-convex/test";
import schema from "../convex/schema";

export const modules = import.meta.glob("../convex/**/*.ts");

export function makeTest() {
  const t = convexTest(schema, modules);
  register(t);
  return t;
}
