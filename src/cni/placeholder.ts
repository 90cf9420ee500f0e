// Until a plugin is written, its name answers VERSION and refuses everything else
// with a CNI error, so that the dispatch of the one executable is testable.
import * as fs from "node:fs";

const SUPPORTED = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

export function placeholderMain(plugin: string): void {
  const command = process.env.CNI_COMMAND ?? "";
  if (command === "VERSION") {
    fs.writeSync(1, JSON.stringify({ cniVersion: "1.1.0", supportedVersions: SUPPORTED }));
    return;
  }
  fs.writeSync(1, JSON.stringify({ cniVersion: "1.1.0", code: 4, msg: `${plugin}: command ${JSON.stringify(command)} is not implemented yet` }));
  process.exitCode = 1;
}
