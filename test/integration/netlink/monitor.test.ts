// Multicast notifications through our own subscription socket, caused by iproute2 in a
// throwaway namespace: what is queued is read at once, also by a poll that does not wait.
import { execFileSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { NetnsFixture } from "../../../netns-fixtures";
import { Subscription } from "../../../src/netlink/monitor";

const fixture = new NetnsFixture();
afterAll(() => fixture.cleanup());

describe("netlink subscription", () => {
  it("poll(0) returns every notification already queued, without waiting", () => {
    const ns = fixture.containerNetns();
    const subscription = Subscription.at(ns.path);
    try {
      execFileSync("ip", ["-n", ns.name, "link", "add", "m0", "type", "veth", "peer", "name", "m1"]);
      execFileSync("ip", ["-n", ns.name, "addr", "add", "10.77.0.1/24", "dev", "m0"]);
      const started = Date.now();
      const { changes } = subscription.poll(0);
      expect(Date.now() - started).toBeLessThan(500);
      expect(changes.filter((change) => change.kind === "link").length).toBeGreaterThanOrEqual(2);
      expect(changes).toContainEqual(expect.objectContaining({ kind: "addr", action: "new" }));
      expect(subscription.poll(0).changes).toEqual([]); // nothing more queued: null at once, not a wait
    } finally {
      subscription.close();
    }
  });
});
