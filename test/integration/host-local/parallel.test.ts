// Many runtimes' calls at once: separate processes, one network, one data directory.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { callPlugin, firstAddress, leaseFiles, ours } from "./harness";

const PARALLEL = 200;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-hl-par-"));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe("host-local under parallel invocation", () => {
  const config = {
    cniVersion: "1.1.0",
    name: "par",
    type: "bridge",
    ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.3.0.0/24" }]] },
  };
  const networkDir = path.join(dataDir, "par");
  const containers = Array.from({ length: PARALLEL }, (_, n) => `par-${n}`);

  it(`${PARALLEL} parallel ADDs from separate processes get ${PARALLEL} distinct addresses`, async () => {
    const exits = await Promise.all(
      containers.map((containerId) => callPlugin({ executable: ours, command: "ADD", config, containerId })),
    );
    const addresses = exits.map(firstAddress);
    expect(new Set(addresses).size).toBe(PARALLEL);
    expect(leaseFiles(networkDir)).toHaveLength(PARALLEL);
    expect(addresses).not.toContain("10.3.0.1");
    const owners = new Set(leaseFiles(networkDir).map((file) => fs.readFileSync(path.join(networkDir, file), "utf8")));
    expect(owners).toEqual(new Set(containers.map((id) => `${id}\r\neth0`)));
  });

  it(`${PARALLEL} parallel DELs leave no lease`, async () => {
    const exits = await Promise.all(
      containers.map((containerId) => callPlugin({ executable: ours, command: "DEL", config, containerId })),
    );
    expect(exits.filter((exit) => exit.status !== 0).map((exit) => exit.stdout)).toEqual([]);
    expect(leaseFiles(networkDir)).toEqual([]);
    expect(fs.readdirSync(networkDir).filter((name) => name.startsWith(".cnikit-tmp"))).toEqual([]);
  });
});
