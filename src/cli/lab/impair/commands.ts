// The actions of `cnikit lab netem set|show|reset` and `cnikit lab link down|up`.
import { CliError } from "../../errors";
import { writeProgress } from "../../output";
import { requireLabState } from "../state";
import { resetImpairments, setImpairments, setLinkUp } from "./operations";
import { showImpairments } from "./show";
import { IMPAIRMENT_KEYS, isEmptyImpairment, parseImpairment } from "./spec";

export interface LabOption {
  lab?: string;
}

export type NetemSetOptions = LabOption & Partial<Record<(typeof IMPAIRMENT_KEYS)[number], string>>;

export async function netemSet(target: string, options: NetemSetOptions): Promise<void> {
  const state = requireLabState(options.lab);
  const raw = Object.fromEntries(IMPAIRMENT_KEYS.map((key) => [key, options[key]]));
  const impairment = parseImpairment(raw, "", (key) => `--${key}`);
  if (isEmptyImpairment(impairment))
    throw new CliError(
      `nothing to set on ${target}: give --${IMPAIRMENT_KEYS.join(", --")} (cnikit lab netem reset ${target} removes them)`,
    );
  await setImpairments(state, { [target]: impairment }, writeProgress);
  showImpairments(state, target, {});
}

export function netemShow(target: string | undefined, options: LabOption & { json?: boolean }): void {
  showImpairments(requireLabState(options.lab), target, options);
}

export async function netemReset(target: string | undefined, options: LabOption): Promise<void> {
  await resetImpairments(requireLabState(options.lab), target, writeProgress);
}

export async function linkDown(target: string, options: LabOption): Promise<void> {
  await setLinkUp(requireLabState(options.lab), target, false, writeProgress);
}

export async function linkUp(target: string, options: LabOption): Promise<void> {
  await setLinkUp(requireLabState(options.lab), target, true, writeProgress);
}
