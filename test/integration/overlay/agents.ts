// Overlay agents for integration tests: overlay/membership/agent-process.ts with the compiled
// executable of this checkout, and waiting helpers.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import type { UnderlayHost } from "../../../netns-fixtures";
import { type AgentRun, AgentProcess as OverlayAgentProcess } from "../../../overlay/membership/agent-process";
import { distBin } from "../../helpers/exec";

export const CNIKIT = path.join(distBin, "cnikit");

/** The agent process with this checkout's compiled executable. */
export class AgentProcess extends OverlayAgentProcess {
  constructor(run: Omit<AgentRun, "cnikit">) {
    super({ ...run, cnikit: CNIKIT });
  }
}

/** Polls `condition` every 50 ms; resolves with the elapsed ms, rejects with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - started;
}

/** Runs `cnikit overlay <args>` inside `host` (a one-shot admin command). */
export function overlayCli(
  host: UnderlayHost,
  args: string[],
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync("nsenter", [`--net=${host.path}`, CNIKIT, "overlay", ...args], {
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export const sameMembers = (peers: string[] | undefined, expected: string[]): boolean =>
  peers !== undefined && JSON.stringify([...peers].sort()) === JSON.stringify([...expected].sort());
