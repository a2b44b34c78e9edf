/** pyseal as a library: the same entry points the CLI uses. */
export { build, type BuildOptions, type BuildResult } from './build.js';
export type { BuildFlags } from './config.js';
export { UserError } from './errors.js';
export { formatInspection, inspect } from './inspect.js';
export type { BlobRecord, Inspection, Manifest, WheelInfo } from './manifest.js';
export { Reporter } from './progress.js';
export { hostTriple, resolveTarget, type Target, TARGETS } from './targets/index.js';
export { VERSION } from './version.js';
