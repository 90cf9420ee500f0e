// The build this executable is: scripts/build.sh hashes the sources and hands the id to
// both the compiler (`--define CNIKIT_BUILD_ID=...`) and the front end, so a front end
// only ever talks to a daemon of its own build. Outside the compiled executable: "dev".
declare const CNIKIT_BUILD_ID: string;

export const BUILD_ID: string = typeof CNIKIT_BUILD_ID === "string" ? CNIKIT_BUILD_ID : "dev";
