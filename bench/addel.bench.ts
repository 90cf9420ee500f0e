// ADD and DEL latency of bridge + host-local, the whole plugin call as a runtime
// sees it: both processes (bridge execs host-local), kernel work and IPAM store.
import { timeAddDel } from "./lib/addel";
import { bridgeConfig, pluginsUnderTest } from "./lib/cni-env";
import type { BenchContext, BenchSection, Benchmark } from "./lib/types";

function run(context: BenchContext): BenchSection {
  const { variants, notes } = timeAddDel(context, {
    plugins: pluginsUnderTest(context),
    config: (dataDir) => bridgeConfig({ dataDir }),
  });
  return {
    title: "ADD / DEL: bridge + host-local",
    description:
      "One `ADD` (then an untimed `DEL`), and one `DEL` of an attachment made by an untimed `ADD`, " +
      "as a runtime calls them: config on stdin, `CNI_*` in the environment, the bridge plugin executing " +
      "host-local from `CNI_PATH`. The plugin runs in a throwaway host namespace (through `nsenter`, " +
      "the same cost for every row) with a throwaway container namespace; config: `isGateway`, " +
      "subnet 10.88.0.0/24, host-local `dataDir` in a scratch directory. DEL rows are compared with the Go DEL.",
    variants,
    notes,
  };
}

export const benchmark: Benchmark = { id: "addel", run };
