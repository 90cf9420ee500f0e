// What this build is, for the plugins' about line and `cnikit --version`: the package
// version and the git commit it was built from. scripts/build.sh passes both to the
// compiler (`--define`), as it does the build id; run from source (tests, `node dist/js`)
// the package version is read from package.json and the commit is unknown.
declare const CNIKIT_VERSION: string;
declare const CNIKIT_COMMIT: string;

function packageVersion(): string {
  if (typeof CNIKIT_VERSION === "string") return CNIKIT_VERSION;
  try {
    return (require("../../package.json") as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** The package version, e.g. "0.1.0". */
export const PACKAGE_VERSION: string = packageVersion();

/** The commit built from (12 hex digits, "-dirty" when the tree had changes), or "unknown". */
export const BUILD_COMMIT: string = typeof CNIKIT_COMMIT === "string" ? CNIKIT_COMMIT : "unknown";

/** "0.1.0 (commit 0123456789ab)": the one version text every entry point prints. */
export function versionText(version: string = PACKAGE_VERSION, commit: string = BUILD_COMMIT): string {
  return `${version} (commit ${commit})`;
}
