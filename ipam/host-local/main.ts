import { pluginMain } from "../../src/cni/skel";
import { hostLocal } from "./plugin";

export function main(): void {
  pluginMain(hostLocal, { name: "host-local" });
}
