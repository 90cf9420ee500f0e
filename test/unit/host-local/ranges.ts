// Builders shared by the host-local unit tests.
import { canonicalizeRange, type RangeInput, type RangeSet } from "../../../ipam/host-local/range";

export function rangeSet(...inputs: Array<RangeInput | string>): RangeSet {
  return inputs.map((input, i) =>
    canonicalizeRange(typeof input === "string" ? { subnet: input } : input, `test[${i}]`),
  );
}

export const c1 = { containerId: "c1", ifName: "eth0" };
export const c2 = { containerId: "c2", ifName: "eth0" };
