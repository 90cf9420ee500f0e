// Throwaway network namespaces and topologies for tests and labs. Everything a
// fixture makes is named `<runPrefix><fixture tag>-<name>`, so `cleanup()` removes
// exactly this fixture's namespaces even while other test files use the same run.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { NETNS_DIR, deleteNetns, runChecked } from "./ip";
import { runPrefix } from "./naming";
import { cleanupPrefix } from "./cleanup";
import { type FixtureDaemon, daemonMode, pidAlive, startDaemon, stopDaemonPid } from "./daemons";

export interface Netns {
  /** Full `ip netns` name (with the prefix). */
  name: string;
  /** /run/netns/<name>, what CNI_NETNS expects. */
  path: string;
}

export interface UnderlayHost extends Netns {
  /** The host's interface on the underlay switch. */
  underlayIf: string;
  /** Its underlay address (no prefix length): 198.18.0.(i+1)/24, or fd00:18::(i+1)/64 with `ipv6`. */
  address: string;
  prefixLength: number;
}

export interface UnderlayOptions {
  hosts: number;
  /** Name of the underlay interface in each host (default `ul0`). */
  underlayIf?: string;
  /** An IPv6 underlay (unique local fd00:18::/64) instead of 198.18.0.0/24. */
  ipv6?: boolean;
}

export interface FixtureOptions {
  /** What the host daemons of resident mode run: the shipped executable unless a suite needs the test build. */
  daemonExecutable?: string;
}

export const UNDERLAY_PREFIX_LENGTH = 24;
const UNDERLAY_NETWORK = "198.18.0";
export const UNDERLAY6_PREFIX_LENGTH = 64;
const UNDERLAY6_NETWORK = "fd00:18::";

export class NetnsFixture {
  /** Prefix of every namespace this fixture creates. */
  readonly prefix: string;
  private readonly created: string[] = [];
  private hostCount = 0;
  private containerCount = 0;
  private underlayCount = 0;
  /** Resident mode (CNIKIT_TEST_DAEMON=1): the daemon of each host namespace. */
  private readonly daemons: FixtureDaemon[] = [];
  private readonly daemonExecutable: string | undefined;

  constructor(options: FixtureOptions = {}) {
    this.daemonExecutable = options.daemonExecutable;
    this.prefix = `${runPrefix()}${crypto.randomBytes(2).toString("hex").slice(0, 3)}-`;
  }

  /** `ip netns add <prefix><name>` with `lo` up inside. */
  createNetns(name: string): Netns {
    const fullName = `${this.prefix}${name}`;
    runChecked(["ip", "netns", "add", fullName]);
    this.created.push(fullName);
    runChecked(["ip", "-n", fullName, "link", "set", "lo", "up"]);
    return { name: fullName, path: `${NETNS_DIR}/${fullName}` };
  }

  /** A namespace playing a host (where a plugin puts bridges and VTEPs). */
  hostNetns(): Netns {
    const host = this.createNetns(`host${this.hostCount++}`);
    this.daemonFor(host);
    return host;
  }

  /** In resident mode, starts the daemon of a host namespace (every plugin call there goes to it). */
  private daemonFor(host: Netns): void {
    if (daemonMode()) this.daemons.push(startDaemon(this.prefix, host.name, [], this.daemonExecutable));
  }

  /** Starts a `cnikit daemon` in `host` whatever the mode (benchmarks); cleanup() ends it. */
  startDaemon(host: Netns, extraArgs: readonly string[] = [], launcher: readonly string[] = []): number {
    const daemon = startDaemon(this.prefix, host.name, extraArgs, this.daemonExecutable, launcher);
    this.daemons.push(daemon);
    return daemon.pid;
  }

  /** The daemons of this fixture's hosts (empty unless in resident mode). */
  daemonPids(): number[] {
    return this.daemons.map((daemon) => daemon.pid);
  }

  /** Starts again each host daemon that died (a test killed it on purpose); returns how many. */
  restartDaemons(): number {
    let restarted = 0;
    for (const [index, daemon] of this.daemons.entries()) {
      if (pidAlive(daemon.pid)) continue;
      stopDaemonPid(this.prefix, daemon.pid); // forget its pid file
      this.daemons[index] = startDaemon(this.prefix, daemon.netns, [], daemon.executable);
      restarted += 1;
    }
    return restarted;
  }

  /** A namespace playing a container (what CNI_NETNS points at). */
  containerNetns(): Netns {
    return this.createNetns(`ctr${this.containerCount++}`);
  }

  /**
   * N host namespaces on one L2 segment: a switch namespace holding a bridge, and
   * per host a veth whose switch end is a bridge port. Host i gets 198.18.0.(i+1)/24, or
   * with `ipv6` fd00:18::(i+1)/64 (nodad: a test must not wait out duplicate detection).
   */
  underlay(options: UnderlayOptions): UnderlayHost[] {
    if (options.hosts < 1 || options.hosts > 250)
      throw new Error(`underlay: hosts must be 1..250, got ${options.hosts}`);
    const underlayIf = options.underlayIf ?? "ul0";
    const tag = `ul${this.underlayCount++}`;
    const switchNs = this.createNetns(`${tag}sw`);
    runChecked(["ip", "-n", switchNs.name, "link", "add", "br0", "type", "bridge"]);
    runChecked(["ip", "-n", switchNs.name, "link", "set", "br0", "up"]);
    const hosts: UnderlayHost[] = [];
    for (let index = 0; index < options.hosts; index++) {
      const host = this.createNetns(`${tag}h${index}`);
      const port = `p${index}`;
      // Created from the switch side with the peer placed straight into the host.
      runChecked([
        "ip",
        "-n",
        switchNs.name,
        "link",
        "add",
        port,
        "type",
        "veth",
        "peer",
        "name",
        underlayIf,
        "netns",
        host.name,
      ]);
      runChecked(["ip", "-n", switchNs.name, "link", "set", port, "master", "br0", "up"]);
      const prefixLength = options.ipv6 ? UNDERLAY6_PREFIX_LENGTH : UNDERLAY_PREFIX_LENGTH;
      const address = options.ipv6
        ? `${UNDERLAY6_NETWORK}${(index + 1).toString(16)}`
        : `${UNDERLAY_NETWORK}.${index + 1}`;
      const cidr = `${address}/${prefixLength}`;
      runChecked(["ip", "-n", host.name, "addr", "add", cidr, "dev", underlayIf, ...(options.ipv6 ? ["nodad"] : [])]);
      runChecked(["ip", "-n", host.name, "link", "set", underlayIf, "up"]);
      hosts.push({ ...host, underlayIf, address, prefixLength });
      this.daemonFor(host);
    }
    return hosts;
  }

  /** Deletes every namespace of this fixture; safe to call twice, and after a failure. */
  cleanup(): void {
    const failures: unknown[] = [];
    // Daemons first: a daemon's threads would keep its namespace alive.
    for (const daemon of this.daemons.splice(0)) {
      try {
        stopDaemonPid(this.prefix, daemon.pid);
        fs.rmSync(daemon.logFile, { force: true });
      } catch (err) {
        failures.push(err);
      }
    }
    for (const name of this.created.splice(0)) {
      try {
        deleteNetns(name);
      } catch (err) {
        failures.push(err);
      }
    }
    cleanupPrefix(this.prefix);
    if (failures.length > 0) throw new AggregateError(failures, `cleanup of ${this.prefix}* failed`);
  }
}
