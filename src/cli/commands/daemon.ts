// `cnikit daemon` (resident mode) and `cnikit daemon status`: the command tree only.
import { Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_WARM_UP_PAIRS } from "../../daemon/jit";
import { guarded } from "./guarded";

function integerFrom(min: number, name: string, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < min || number > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return number;
  };
}

const positiveInteger = (name: string, max: number) => integerFrom(1, name, max);

interface DaemonFlags {
  netns?: string;
  workers: number;
  requestTimeout: number;
  stopTimeout: number;
  metrics?: string;
  buildId?: string;
  bodyTimeoutMs: number;
  warmUp: number;
}

export function daemonCommand(): Command {
  const daemon = new Command("daemon")
    .description(
      "resident mode: answer this host namespace's plugin calls from warm worker threads (the plugin front end falls back to standalone without it)",
    )
    .option("--netns <name>", "run inside this named network namespace (or path) instead of ours")
    .option("--workers <n>", "worker threads: requests served at once", positiveInteger("--workers", 64), 8)
    .option(
      "--request-timeout <seconds>",
      "a request running longer is answered with code 11 and its worker replaced",
      positiveInteger("--request-timeout", 3600),
      120,
    )
    .option(
      "--stop-timeout <seconds>",
      "on SIGTERM, how long requests in flight may take to finish",
      positiveInteger("--stop-timeout", 3600),
      30,
    )
    .option(
      "--warm-up <pairs>",
      "bridge ADD/DEL pairs each of the first two workers runs, in namespaces of its own, before the daemon listens (0: none)",
      integerFrom(0, "--warm-up", 10_000),
      DEFAULT_WARM_UP_PAIRS,
    )
    .option("--metrics <host:port>", "serve Prometheus metrics on http://HOST:PORT/metrics (in the daemon's namespace)")
    .addOption(new Option("--build-id <id>", "test-only: answer as another build").hideHelp())
    .addOption(
      new Option("--body-timeout-ms <ms>", "how long a caller may take to send its whole request")
        .argParser(positiveInteger("--body-timeout-ms", 600_000))
        .default(10_000)
        .hideHelp(),
    )
    .enablePositionalOptions()
    .action(
      guarded((flags: DaemonFlags) =>
        require("../../daemon/daemon").runDaemon({
          netns: flags.netns,
          workers: flags.workers,
          requestTimeoutMs: flags.requestTimeout * 1000,
          stopTimeoutMs: flags.stopTimeout * 1000,
          bodyTimeoutMs: flags.bodyTimeoutMs,
          metrics: flags.metrics,
          buildId: flags.buildId,
          warmUpPairs: flags.warmUp,
        }),
      ),
    );
  daemon
    .command("status")
    .description(
      "is a daemon answering in this namespace: its build, workers, requests served, uptime (exit 1 if none)",
    )
    .option("--netns <name>", "ask the daemon of this named namespace (or path)")
    .option("--json", "JSON output for scripts")
    .action(
      guarded((flags: { netns?: string; json?: boolean }) => require("../daemon-cmd").daemonStatusCommand(flags)),
    );
  return daemon;
}
