// A SkelIO that records what the skel writes, for running plugins without a process.
import type { SkelIO } from "../../../src/cni/skel";

export interface FakeIO extends SkelIO {
  stdout: string[];
  stderr: string[];
}

export function fakeIO(env: Record<string, string | undefined>, stdin: unknown = {}): FakeIO {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const stdinText = typeof stdin === "string" ? stdin : JSON.stringify(stdin);
  return {
    env,
    stdout,
    stderr,
    readStdin: () => Buffer.from(stdinText),
    writeStdout: (text) => stdout.push(text),
    writeStderr: (text) => stderr.push(text),
  };
}

/** The environment of a well-formed ADD. */
export function addEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    CNI_COMMAND: "ADD",
    CNI_CONTAINERID: "c1",
    CNI_NETNS: "/run/netns/c1",
    CNI_IFNAME: "eth0",
    CNI_PATH: "/opt/cni/bin",
    ...overrides,
  };
}
