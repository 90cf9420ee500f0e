// What the numbers were measured on, for the top of BENCHMARKS.md.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";

function commandOutput(argv: string[]): string {
  const [file, ...args] = argv;
  const result = spawnSync(file ?? "true", args, { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : "unknown";
}

export function describeMachine(root: string): string[] {
  const cpus = os.cpus();
  let debian = "unknown";
  try {
    debian = fs.readFileSync("/etc/debian_version", "utf8").trim();
  } catch {
    // not Debian: leave "unknown"
  }
  // biome-ignore lint/suspicious/noTemplateCurlyInString: ${Version} is dpkg-query's field syntax, not ours
  const goPlugins = commandOutput(["dpkg-query", "-W", "-f=${Version}", "containernetworking-plugins"]);
  return [
    `- Date: ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}`,
    `- CPU: ${cpus.length} cores, ${cpus[0]?.model ?? "unknown model"}; ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM`,
    `- OS: Debian ${debian}, Linux ${os.release()}`,
    `- Node ${commandOutput(["node", "--version"])}; Bun ${commandOutput([`${root}/node_modules/.bin/bun`, "--version"])} (compiler of dist/bin/cnikit, and runtime of this harness)`,
    `- Load average at the start: ${os
      .loadavg()
      .map((load) => load.toFixed(2))
      .join(" ")} (other work on the machine shows up in the spread)`,
    `- Go reference plugins: Debian containernetworking-plugins ${goPlugins}`,
  ];
}
