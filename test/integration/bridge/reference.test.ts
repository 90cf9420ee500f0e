// The same config through our bridge (+ our host-local) and the Go reference bridge
// (+ its host-local), each in its own throwaway host namespace: the kernel views and the
// result shapes must match. ipMasq stays off: the reference would use iptables.
import { describe, expect, it } from "vitest";
import { REFERENCE_DIR, addOk, bridgeNetwork, haveReference, runBridge, withPrevResult, useTestbed } from "./harness";
import { attachmentView, resultShape } from "./kernel-view";

const { fixture, dataDir } = useTestbed("ref");

const CASES: Array<{
  label: string;
  cniVersion: string;
  extra: Record<string, unknown>;
  ipam?: Record<string, unknown>;
}> = [
  { label: "isGateway + isDefaultGateway", cniVersion: "1.0.0", extra: { isGateway: true, isDefaultGateway: true } },
  {
    label: "isGateway, IPAM routes, hairpinMode",
    cniVersion: "0.4.0",
    extra: { isGateway: true, hairpinMode: true },
    ipam: { routes: [{ dst: "10.200.0.0/16" }] },
  },
  { label: "no gateway, mtu 1400", cniVersion: "0.3.1", extra: { mtu: 1400 } },
  {
    label: "enabledad, promiscMode",
    cniVersion: "1.0.0",
    extra: { isGateway: true, enabledad: true, promiscMode: true },
  },
];

describe.skipIf(!haveReference)("same kernel state and result as the Go reference bridge", () => {
  it.each(CASES.map((testCase, index) => ({ ...testCase, index })))(
    "$label (cniVersion $cniVersion)",
    ({ cniVersion, extra, ipam, index }) => {
      const views = (["ours", "reference"] as const).map((impl) => {
        const host = fixture.hostNetns();
        const ctr = fixture.containerNetns();
        const config = bridgeNetwork({
          name: `ref${index}`,
          bridge: `ckref${index}`,
          subnet: `10.62.${index}.0/24`,
          dataDir: `${dataDir}/${impl}`,
          cniVersion,
          extra,
          ...(ipam && { ipam }),
        });
        const binDir = impl === "reference" ? REFERENCE_DIR : undefined;
        const call = { host, config, netns: ctr.path, containerId: `refctr${index}`, ...(binDir && { binDir }) };
        const result = addOk(call);
        const view = { result: resultShape(result, ctr.path), kernel: attachmentView(host, ctr, `ckref${index}`) };
        const del = runBridge({ ...call, command: "DEL", config: withPrevResult(config, result) });
        expect(del.status, `${impl} DEL: ${del.stdout}`).toBe(0);
        return view;
      });
      // Guard against comparing two empty views.
      expect(views[0]?.kernel.container.addresses).toHaveLength(1);
      expect(views[0]?.kernel.ports).toHaveLength(1);
      expect(views[0]).toEqual(views[1]);
    },
  );
});
