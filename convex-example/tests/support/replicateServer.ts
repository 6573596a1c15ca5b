/**
 * Replicate's own server functions for the `tasks` collection (`collection.create`), as its
 * clients call them: `delta` (stream and recovery modes) and `material`.
 */
import { collection } from "@trestleinc/replicate/server";
import { components } from "../../convex/_generated/api";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const tasks = collection.create((components as any).replicate, "tasks");

export const { delta, material } = tasks;
