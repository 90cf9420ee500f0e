// How to run this same program again (inside another namespace, as a helper), and where
// its plugins are: beside the compiled executable, which the plugin names link to.
import * as fs from "node:fs";
import * as path from "node:path";

/** Bun's compiled executables report their embedded entry point under this root. */
const BUN_EMBEDDED_ROOT = "/$bunfs/";

function scriptPath(): string | undefined {
  const script = process.argv[1];
  if (!script || script.startsWith(BUN_EMBEDDED_ROOT) || !/\.(c?js|ts)$/.test(script)) return undefined;
  return script;
}

/** argv prefix that starts `cnikit` again: the executable, or node plus the entry script. */
export function selfCommand(): string[] {
  const script = scriptPath();
  return script ? [process.execPath, script] : [process.execPath];
}

/** The directory plugins are looked up in when CNI_PATH is not set. */
export function defaultPluginDir(): string {
  const script = scriptPath();
  if (!script) return path.dirname(process.execPath);
  // Run by node from dist/js/src/main.js: the links live in dist/bin.
  const distBin = path.resolve(path.dirname(script), "..", "..", "bin");
  return fs.existsSync(distBin) ? distBin : path.dirname(script);
}
