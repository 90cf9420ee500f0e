// The names vxlan-overlay gives a network's host devices, written once: the plugin's
// config, the overlay agent (whose host lock is named after the bridge) and the lab's
// inspection must agree on them, or the agent programs a VTEP nobody uses.

/** The VTEP of VNI `vni`: `vx<vni>` (at most 10 bytes for a 24-bit VNI, under the kernel's 15). */
export function overlayVtepName(vni: number): string {
  return `vx${vni}`;
}

/** The bridge of VNI `vni` when the config names none: `vxbr<vni>`. */
export function overlayBridgeName(vni: number): string {
  return `vxbr${vni}`;
}
