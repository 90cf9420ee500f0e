// The compiled vxlan-overlay plugin's ADD run inside a host namespace, as a runtime on
// that host would run it: for benchmarks that need a real VTEP with a container behind it.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import type { Netns } from "../../netns-fixtures";
import { nodeEnv } from "./timing";
import type { BenchContext } from "./types";

/** One container behind the compiled plugin on `host`; returns its overlay address. */
export function pluginAdd(
  context: BenchContext,
  host: Netns,
  container: Netns,
  config: Record<string, unknown>,
): string {
  const executable = path.join(context.distBin, "vxlan-overlay");
  const env = nodeEnv({
    CNI_COMMAND: "ADD",
    CNI_CONTAINERID: `bench-${container.name}`,
    CNI_NETNS: container.path,
    CNI_IFNAME: "eth0",
    CNI_PATH: context.distBin,
  });
  const run = spawnSync("nsenter", [`--net=${host.path}`, executable], {
    env,
    input: JSON.stringify(config),
    encoding: "utf8",
  });
  const address = (JSON.parse(run.stdout || "{}") as { ips?: Array<{ address: string }> }).ips?.[0]?.address;
  if (run.status !== 0 || !address) throw new Error(`vxlan-overlay ADD on ${host.name}: ${run.stdout} ${run.stderr}`);
  return address.split("/")[0] ?? "";
}
