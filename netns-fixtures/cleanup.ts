// Removing namespaces by prefix, and those left by earlier runs that were killed.
import * as fs from "node:fs";
import { stopDaemonsOf } from "./daemons";
import { deleteNetns, listNetnsNames } from "./ip";
import {
  FIXTURE_NAME_PATTERN,
  MARKER_DIR,
  existingRunPrefix,
  isMarkerOwnerAlive,
  readMarker,
  removeMarker,
} from "./naming";

/** Deletes every namespace whose name starts with `prefix`; returns their names. */
export function cleanupPrefix(prefix: string): string[] {
  if (prefix.length < 3) throw new Error(`refusing to clean up the too-short prefix "${prefix}"`);
  stopDaemonsOf(prefix);
  const doomed = listNetnsNames().filter((name) => name.startsWith(prefix));
  for (const name of doomed) deleteNetns(name);
  return doomed;
}

/**
 * Deletes namespaces of earlier runs whose owning process is gone. A namespace
 * matching our pattern but without a marker is left alone: the marker is written
 * before any namespace, so it was not made by these fixtures.
 */
export function cleanupStale(): string[] {
  const ours = existingRunPrefix();
  const prefixes = new Set<string>();
  for (const name of listNetnsNames()) {
    const prefix = FIXTURE_NAME_PATTERN.exec(name)?.[1];
    if (prefix && prefix !== ours) prefixes.add(prefix);
  }
  for (const file of markerFiles()) prefixes.add(`${file.replace(/\.json$/, "")}-`);
  const removed: string[] = [];
  for (const prefix of prefixes) {
    if (prefix === ours) continue;
    const marker = readMarker(prefix);
    if (!marker || isMarkerOwnerAlive(marker)) continue;
    removed.push(...cleanupPrefix(prefix));
    removeMarker(prefix);
  }
  return removed;
}

function markerFiles(): string[] {
  try {
    return fs.readdirSync(MARKER_DIR).filter((file) => /^ck[0-9a-z]{5}\.json$/.test(file));
  } catch {
    return [];
  }
}
