// `cnikit daemon status`: what the daemon of a namespace says about itself.
import { queryDaemonStatus } from "../daemon/control";
import { BUILD_ID } from "../daemon/build-id";
import { CliError } from "./errors";
import { formatTable, writeStdout } from "./output";

export function daemonStatusCommand(flags: { netns?: string; json?: boolean }): void {
  const status = queryDaemonStatus(flags.netns);
  const where = flags.netns ? `network namespace ${flags.netns}` : "this network namespace";
  if (!status) throw new CliError(`no cnikit daemon answers in ${where} (plugin calls run standalone)`);
  if (flags.json) {
    writeStdout(JSON.stringify({ ...status, sameBuild: status.build === BUILD_ID }));
    return;
  }
  const build =
    status.build === BUILD_ID ? status.build : `${status.build} (not this build, ${BUILD_ID}: calls bypass it)`;
  writeStdout(
    formatTable(
      ["PID", "BUILD", "WORKERS", "SERVED", "IN FLIGHT", "RESTARTS", "UPTIME"],
      [
        [
          String(status.pid),
          build,
          String(status.workers),
          String(status.served),
          String(status.inFlight),
          String(status.workerRestarts),
          `${status.uptimeSeconds}s`,
        ],
      ],
    ),
  );
}
