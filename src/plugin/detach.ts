// DEL of a veth-based attachment (bridge, veth, vxlan-overlay): IPAM first, so the
// lease goes even when the namespace and its link are already gone; then the veth
// pair from whichever side still exists; then the attachment's masquerade rules.
// Every step treats "already gone" as success, so DEL can run any number of times.
import type { CmdArgs, NetConf } from "../cni/types";
import { Handle } from "../netlink/handle";
import { withHandle } from "./container-netns";
import { hasIpam, ipamDel } from "./ipam";
import { masqAttachmentOf, teardownIpMasq } from "./ipmasq";
import { teardownMacSpoofCheck } from "./macspoofchk";
import { removeVethPair } from "./veth-pair";

export async function detachAttachment(
  spec: {
    netConf: NetConf;
    /** What IPAM is delegated, when not stdin (see ipam.ts). */
    ipamStdin?: Buffer;
    ipMasq?: boolean | undefined;
    macSpoofCheck?: boolean | undefined;
  },
  args: CmdArgs,
): Promise<void> {
  if (hasIpam(spec.netConf)) await ipamDel(spec.netConf, args, spec.ipamStdin);
  withHandle(Handle.at(null), (host) =>
    removeVethPair({
      host,
      netns: args.netns,
      network: spec.netConf.name,
      containerId: args.containerId,
      ifName: args.ifName,
    }),
  );
  if (spec.ipMasq) teardownIpMasq(masqAttachmentOf(spec.netConf, args));
  if (spec.macSpoofCheck) teardownMacSpoofCheck(masqAttachmentOf(spec.netConf, args));
}
