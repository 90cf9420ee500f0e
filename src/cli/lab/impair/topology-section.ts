// The topology file's `impairments:` key: a mapping of TARGET to impairment, in place
// after `lab up` (and gone after `lab down`), e.g.
//   impairments:
//     h1: { delay: 20ms, jitter: 5ms, loss: 1% }
//     h2/c1: { rate: 10mbit, mtu: 1400 }
import { CliError } from "../../errors";
import { type LinkImpairment, isEmptyImpairment, parseImpairment } from "./spec";
import { checkTopologyTarget } from "./targets";

export function topologyImpairments(
  value: unknown,
  hosts: ReadonlyArray<{ name: string; containers: string[] }>,
): Record<string, LinkImpairment> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new CliError("topology impairments: must be a mapping of TARGET (h1, h1/c1, h1:ul0) to impairments");
  const impairments: Record<string, LinkImpairment> = {};
  for (const [target, raw] of Object.entries(value as Record<string, unknown>)) {
    const field = `topology impairments.${target}`;
    const name = checkTopologyTarget(target, hosts, field);
    if (impairments[name]) throw new CliError(`${field}: the same link appears twice (as ${name})`);
    if (typeof raw !== "object" || raw === null || Array.isArray(raw))
      throw new CliError(`${field}: must be a mapping like { delay: 20ms, loss: 1% }`);
    const impairment = parseImpairment(raw as Record<string, unknown>, field);
    if (!isEmptyImpairment(impairment)) impairments[name] = impairment;
  }
  return impairments;
}
