import { pluginMain } from "../../src/cni/skel";
import { bridgePlugin } from "./bridge";

export function main(): void {
  pluginMain(bridgePlugin, { name: "bridge" });
}
