import { describe, expect, it } from "vitest";
import { overlayBridgeName, overlayVtepName } from "../../../overlay/kernel/names";

describe("overlay device names", () => {
  it("are vx<vni> and vxbr<vni>, within the kernel's 15 bytes for the largest VNI", () => {
    expect(overlayVtepName(4242)).toBe("vx4242");
    expect(overlayBridgeName(4242)).toBe("vxbr4242");
    const largest = 2 ** 24 - 1;
    expect(overlayBridgeName(largest)).toBe("vxbr16777215");
    expect(overlayBridgeName(largest).length).toBeLessThanOrEqual(15);
  });
});
