// `cnikit lab exec NODE -- CMD...`: a command inside a lab node's namespace, with our
// stdio; the command's exit status becomes ours (as `cnikit netns exec`).
import { native } from "../../../native";
import { checkNetnsPath } from "../../netns/netns";
import { CliError } from "../errors";
import { requireLabNode } from "./nodes";

export interface LabExecOptions {
  lab?: string;
}

export function labExec(nodeLabel: string, commandWords: readonly string[], options: LabExecOptions): void {
  // With pass-through options commander keeps a "--" that separates the command.
  const argv = commandWords[0] === "--" ? commandWords.slice(1) : commandWords;
  if (argv.length === 0) throw new CliError("lab exec: no command given (cnikit lab exec NODE -- CMD [ARGS...])");
  const node = requireLabNode(nodeLabel, options.lab);
  try {
    checkNetnsPath(node.netnsPath);
  } catch (err) {
    throw new CliError(`lab exec ${node.label}: ${(err as Error).message} (is the lab half built? cnikit lab status)`, {
      cause: err,
    });
  }
  let status: number;
  try {
    // fork + setns + execvp in the child: this process never changes namespace.
    status = native().execInNetns(node.netnsPath, [...argv]);
  } catch (err) {
    throw new CliError(`lab exec ${node.label} ${argv[0]}: ${(err as Error).message}`, { cause: err });
  }
  process.exitCode = status;
}
