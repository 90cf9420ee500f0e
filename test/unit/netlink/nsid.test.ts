// RTM_GETNSID against iproute2: `strace -e sendmsg -xx ip -n NS netns list` showed `ip`
// asking for each namespace's id with the namespace's open fd (there, fd 6).
import { describe, expect, it } from "vitest";
import { getNsidPayload } from "../../../src/netlink/nsid";

describe("getNsidPayload", () => {
  it("is what `ip netns list` sends: a padded rtgenmsg, then NETNSA_FD", () => {
    expect(getNsidPayload(6).toString("hex")).toBe("000000000800030006000000");
  });
});
