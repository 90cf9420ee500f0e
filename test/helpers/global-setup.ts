// Integration tests run the built executable; make sure it exists and that we are root.
// Also: remove namespaces that killed earlier runs left, give every worker this run's
// fixture prefix, and delete this run's namespaces at the end whatever happened.
import * as fs from "node:fs";
import * as path from "node:path";
import { cleanupPrefix, cleanupStale, runPrefix } from "../../netns-fixtures";
import { PREFIX_ENV, removeMarker } from "../../netns-fixtures/naming";

export default function setup(): () => void {
  if (process.getuid?.() !== 0) throw new Error("integration tests need root (network namespaces)");
  const exe = path.join(__dirname, "..", "..", "dist", "bin", "cnikit");
  if (!fs.existsSync(exe)) throw new Error(`${exe} is missing: run 'npm run build' first`);
  const stale = cleanupStale();
  if (stale.length > 0) console.warn(`removed ${stale.length} namespaces left by dead runs: ${stale.join(" ")}`);
  const prefix = runPrefix();
  process.env[PREFIX_ENV] = prefix;
  return () => {
    const leftovers = cleanupPrefix(prefix);
    if (leftovers.length > 0) console.warn(`removed namespaces tests left behind: ${leftovers.join(" ")}`);
    removeMarker(prefix);
  };
}
