import { placeholderMain } from "../../src/cni/placeholder";

export function main(): void {
  placeholderMain("bridge");
}
