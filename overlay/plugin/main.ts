import { pluginMain } from "../../src/cni/skel";
import { vxlanOverlayPlugin } from "./vxlan-overlay";

export function main(): void {
  pluginMain(vxlanOverlayPlugin, { name: "vxlan-overlay" });
}
