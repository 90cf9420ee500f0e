// Both directions with the Go reference host-local on one data directory: each sees
// the other's leases, never hands one out twice, and can release the other's.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type Call, callPlugin, firstAddress, hasReference, leaseFiles, ours, reference } from "./harness";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-hl-compat-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function network(name: string): { config: Record<string, unknown>; dir: string } {
  // The reference (1.1.1 in Debian) speaks up to 1.0.0.
  const config = {
    cniVersion: "1.0.0",
    name,
    type: "bridge",
    ipam: { type: "host-local", dataDir: root, ranges: [[{ subnet: "10.2.0.0/24" }], [{ subnet: "fd00:2::/120" }]] },
  };
  return { config, dir: path.join(root, name) };
}

const call = (executable: string, command: Call["command"], config: unknown, containerId: string) =>
  callPlugin({ executable, command, config, containerId });

describe.skipIf(!hasReference)("compatibility with the Go reference host-local (/usr/lib/cni/host-local)", () => {
  it("ours allocates; the reference sees the lease, does not reuse it, and releases it", async () => {
    const { config, dir } = network("ours-first");
    expect(firstAddress(await call(ours, "ADD", config, "ours1"))).toBe("10.2.0.2");
    expect((await call(reference, "CHECK", config, "ours1")).status).toBe(0);
    expect(firstAddress(await call(reference, "ADD", config, "theirs1"))).toBe("10.2.0.3");
    expect((await call(reference, "ADD", config, "ours1")).json).toMatchObject({
      msg: expect.stringContaining("duplicate allocation"),
    });
    expect((await call(reference, "DEL", config, "ours1")).status).toBe(0);
    expect(leaseFiles(dir)).toEqual(["10.2.0.3", "fd00:2::3"]);
    // Ours notices the release made behind its index's back.
    expect((await call(ours, "CHECK", config, "ours1")).json).toMatchObject({ code: 3 });
    expect(firstAddress(await call(ours, "ADD", config, "ours2"))).toBe("10.2.0.4");
  });

  it("the reference allocates; ours sees the lease, does not reuse it, and releases it", async () => {
    const { config, dir } = network("theirs-first");
    expect(firstAddress(await call(reference, "ADD", config, "theirs1"))).toBe("10.2.0.2");
    expect((await call(ours, "CHECK", config, "theirs1")).status).toBe(0);
    expect(firstAddress(await call(ours, "ADD", config, "ours1"))).toBe("10.2.0.3");
    expect((await call(ours, "ADD", config, "theirs1")).json).toMatchObject({
      msg: expect.stringContaining("duplicate allocation"),
    });
    expect((await call(ours, "DEL", config, "theirs1")).status).toBe(0);
    expect(leaseFiles(dir)).toEqual(["10.2.0.3", "fd00:2::3"]);
    expect((await call(reference, "CHECK", config, "ours1")).status).toBe(0);
    // Round robin continues from last_reserved_ip.N whoever wrote it.
    expect(firstAddress(await call(reference, "ADD", config, "theirs2"))).toBe("10.2.0.4");
    expect(firstAddress(await call(ours, "ADD", config, "ours2"))).toBe("10.2.0.5");
  });

  it("both allocating in parallel into one directory never collide", async () => {
    const { config, dir } = network("mixed");
    const adds = Array.from({ length: 60 }, (_, n) => call(n % 2 === 0 ? ours : reference, "ADD", config, `mixed${n}`));
    const exits = await Promise.all(adds);
    const addresses = exits.map(firstAddress);
    expect(new Set(addresses).size).toBe(60);
    expect(leaseFiles(dir)).toHaveLength(120);
    // Each releases the other's half.
    const dels = Array.from({ length: 60 }, (_, n) => call(n % 2 === 0 ? reference : ours, "DEL", config, `mixed${n}`));
    expect((await Promise.all(dels)).every((exit) => exit.status === 0)).toBe(true);
    expect(leaseFiles(dir)).toEqual([]);
  });
});
