import { pluginMain } from "../../src/cni/skel";
import { vethPlugin } from "./veth";

export function main(): void {
  pluginMain(vethPlugin, { name: "veth" });
}
