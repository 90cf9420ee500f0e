// The result cache, in libcni's layout and format (cacheDir/results/<net>-<cid>-<ifname>,
// kind "cniCacheV1"), so that CHECK and DEL get the prevResult ADD produced, and GC
// knows which attachments exist.
import * as fs from "node:fs";
import * as path from "node:path";

export interface AttachmentKey {
  networkName: string;
  containerId: string;
  ifName: string;
}

export interface CachedAttachment extends AttachmentKey {
  netns?: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  /** The result as the list's version printed it. */
  result?: Record<string, unknown>;
  /** The network config list it was made with. */
  config?: Buffer;
}

const KIND = "cniCacheV1";

export class ResultCache {
  constructor(private readonly cacheDir: string) {}

  private get resultsDir(): string {
    return path.join(this.cacheDir, "results");
  }

  fileOf(key: AttachmentKey): string {
    return path.join(this.resultsDir, `${key.networkName}-${key.containerId}-${key.ifName}`);
  }

  write(entry: CachedAttachment): void {
    const body: Record<string, unknown> = {
      kind: KIND,
      containerId: entry.containerId,
      config: entry.config?.toString("base64"),
      ifName: entry.ifName,
      networkName: entry.networkName,
      netns: entry.netns || undefined,
      cniArgs: entry.cniArgs?.length ? entry.cniArgs : undefined,
      capabilityArgs:
        entry.capabilityArgs && Object.keys(entry.capabilityArgs).length > 0 ? entry.capabilityArgs : undefined,
      result: entry.result,
    };
    fs.mkdirSync(this.resultsDir, { recursive: true, mode: 0o700 });
    const file = this.fileOf(entry);
    // Write then rename, so a concurrent reader never sees half a file.
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(body), { mode: 0o600 });
    fs.renameSync(temporary, file);
  }

  /** The cached entry, or undefined when there is none; throws when the file is unreadable or not ours. */
  read(key: AttachmentKey): CachedAttachment | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.fileOf(key), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    return parseEntry(text, this.fileOf(key));
  }

  remove(key: AttachmentKey): void {
    fs.rmSync(this.fileOf(key), { force: true });
  }

  /** Every readable attachment of `networkName` (unreadable files are skipped, as libcni does). */
  list(networkName: string): CachedAttachment[] {
    let files: string[];
    try {
      files = fs.readdirSync(this.resultsDir);
    } catch {
      return [];
    }
    const entries: CachedAttachment[] = [];
    for (const name of files) {
      if (name.endsWith(".tmp")) continue;
      try {
        const entry = parseEntry(fs.readFileSync(path.join(this.resultsDir, name), "utf8"), name);
        if (entry.networkName === networkName) entries.push(entry);
      } catch {
        // not a cache entry we can use
      }
    }
    return entries;
  }
}

function parseEntry(text: string, file: string): CachedAttachment {
  const raw = JSON.parse(text) as Record<string, unknown>;
  if (
    raw.kind !== KIND ||
    typeof raw.containerId !== "string" ||
    typeof raw.ifName !== "string" ||
    typeof raw.networkName !== "string"
  ) {
    throw new Error(`${file} is not a ${KIND} cache entry`);
  }
  const entry: CachedAttachment = { networkName: raw.networkName, containerId: raw.containerId, ifName: raw.ifName };
  if (typeof raw.netns === "string") entry.netns = raw.netns;
  if (Array.isArray(raw.cniArgs)) entry.cniArgs = raw.cniArgs as [string, string][];
  if (typeof raw.capabilityArgs === "object" && raw.capabilityArgs !== null)
    entry.capabilityArgs = raw.capabilityArgs as Record<string, unknown>;
  if (typeof raw.result === "object" && raw.result !== null) entry.result = raw.result as Record<string, unknown>;
  if (typeof raw.config === "string") entry.config = Buffer.from(raw.config, "base64");
  return entry;
}
