import { describe, expect, it } from "vitest";
import { runPlugin } from "../helpers/exec";

describe("one executable, dispatched on the name it was started as", () => {
  for (const plugin of ["bridge", "veth", "vxlan-overlay", "host-local"]) {
    it(`${plugin} answers VERSION`, () => {
      const run = runPlugin({ plugin, command: "VERSION", config: { cniVersion: "1.1.0" } });
      expect(run.status).toBe(0);
      expect(run.json).toMatchObject({
        cniVersion: "1.1.0",
        supportedVersions: expect.arrayContaining(["0.4.0", "1.1.0"]),
      });
    });
  }
});
