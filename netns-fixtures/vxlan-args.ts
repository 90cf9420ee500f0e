// The `ip link add ... type vxlan` arguments tests and benchmarks use to make a VTEP by
// hand (a stray or wrong one for the plugin to meet), in one place.
export interface VxlanArgs {
  name: string;
  vni: number;
  local: string;
  dev: string;
  dstport: number;
  learning?: boolean;
}

/** Arguments for `ip link ...`: `["link", "add", name, "type", "vxlan", ...]`. */
export function vxlanAddArgs(vtep: VxlanArgs): string[] {
  return [
    ...["link", "add", vtep.name, "type", "vxlan", "id", String(vtep.vni)],
    ...["dstport", String(vtep.dstport), "local", vtep.local, "dev", vtep.dev],
    ...(vtep.learning === false ? ["nolearning"] : []),
  ];
}
