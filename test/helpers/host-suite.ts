// The scaffolding of a suite that calls plugins on one throwaway host: a fixture, one host
// namespace on an underlay (198.18.0.1) and one container namespace, made in beforeAll; a
// dataDir and the scratch directories the suite plants things in; and afterAll removing
// all of them, also after a failed test. Call hostSuite() at the top of a test file.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { type FixtureOptions, type Netns, NetnsFixture } from "../../netns-fixtures";

export interface HostSuiteOptions extends FixtureOptions {
  /** Names the temporary directories: `cnikit-hz-<name>-` for the dataDir, `cnikit-hz-<name>-<scratch>-` for the others. */
  name: string;
  /** Scratch directories the suite hands its calls (planted files, targets of planted links). */
  scratch?: readonly string[];
}

export class HostSuite {
  readonly fixture: NetnsFixture;
  readonly dataDir: string;
  /** The scratch directories, by the names given. */
  readonly scratch: Readonly<Record<string, string>>;
  private made: { host: Netns; container: Netns } | undefined;

  constructor(options: HostSuiteOptions) {
    this.fixture = new NetnsFixture(options);
    const temporary = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `cnikit-hz-${name}-`));
    this.dataDir = temporary(options.name);
    this.scratch = Object.fromEntries(
      (options.scratch ?? []).map((name) => [name, temporary(`${options.name}-${name}`)]),
    );
  }

  setUp(): void {
    this.made = { host: this.fixture.underlay({ hosts: 1 })[0] as Netns, container: this.fixture.containerNetns() };
  }

  tearDown(): void {
    try {
      this.fixture.cleanup();
    } finally {
      for (const dir of [this.dataDir, ...Object.values(this.scratch)])
        fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** A scratch directory by the name given to hostSuite(). */
  scratchDir(name: string): string {
    const dir = this.scratch[name];
    if (dir === undefined) throw new Error(`no scratch directory ${name}: give it in hostSuite({ scratch })`);
    return dir;
  }

  private namespaces(): { host: Netns; container: Netns } {
    if (!this.made) throw new Error("the suite's namespaces exist from its beforeAll on");
    return this.made;
  }

  get host(): Netns {
    return this.namespaces().host;
  }

  get container(): Netns {
    return this.namespaces().container;
  }

  /** What test/hardening/networks.ts builds configs from: the dataDir, and a tag from the fixture's prefix. */
  get context(): { dataDir: string; tag: string } {
    return { dataDir: this.dataDir, tag: this.fixture.prefix.slice(-4, -1) };
  }

  /** The test's own places for test/hardening/snapshot.ts: host, dataDir, scratch and the fixture's namespaces. */
  snapshotTarget(): { host: Netns; dataDir: string; ownDirs: string[]; netnsPrefix: string } {
    return {
      host: this.host,
      dataDir: this.dataDir,
      ownDirs: Object.values(this.scratch),
      netnsPrefix: this.fixture.prefix,
    };
  }
}

export function hostSuite(options: HostSuiteOptions): HostSuite {
  const suite = new HostSuite(options);
  beforeAll(() => suite.setUp());
  afterAll(() => suite.tearDown());
  return suite;
}
