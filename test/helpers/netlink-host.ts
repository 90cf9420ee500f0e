// The scaffolding of a suite that drives src/netlink directly: one throwaway host namespace
// and a Handle bound to it, made in beforeAll; afterAll closes the handle and deletes the
// namespace, also after a failed test. Call netlinkHost() at the top of a test file.
import { afterAll, beforeAll } from "vitest";
import { type Netns, NetnsFixture } from "../../netns-fixtures";
import { Handle } from "../../src/netlink/handle";
import { addVeth } from "../../src/netlink/link-create";
import { setLinkUp } from "../../src/netlink/links";

export interface NetlinkHostOptions {
  /** A veth pair [name, peerName] made in the host with both ends up, before `ready` runs. */
  veth?: readonly [string, string];
  /** The suite's own setup, given the namespace and its handle (the file keeps them in its lets). */
  ready: (ns: Netns, h: Handle) => void;
}

export function netlinkHost(options: NetlinkHostOptions): void {
  const fixture = new NetnsFixture();
  let h: Handle | undefined;
  beforeAll(() => {
    const ns = fixture.hostNetns();
    h = Handle.at(ns.path);
    if (options.veth) {
      const [name, peerName] = options.veth;
      addVeth(h, { name, peerName });
      setLinkUp(h, peerName);
      setLinkUp(h, name);
    }
    options.ready(ns, h);
  });
  afterAll(() => {
    h?.close();
    fixture.cleanup();
  });
}
