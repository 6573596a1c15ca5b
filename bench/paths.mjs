// Where the benchmarks live and write: one definition for every bench script.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** This folder (bench/). */
export const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const ROOT = resolve(HERE, "..");
/** bench/results: what the benchmarks report. */
export const RESULTS = join(ROOT, "bench", "results");
/** bench/results/tmp: intermediate files (datasets, bundles, child results). */
export const TMP = join(RESULTS, "tmp");
