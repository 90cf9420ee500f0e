// Integration tests run the built executable; make sure it exists and that we are root.
import * as fs from "node:fs";
import * as path from "node:path";

export default function setup(): void {
  if (process.getuid?.() !== 0) throw new Error("integration tests need root (network namespaces)");
  const exe = path.join(__dirname, "..", "..", "dist", "bin", "cnikit");
  if (!fs.existsSync(exe)) throw new Error(`${exe} is missing: run 'npm run build' first`);
}
