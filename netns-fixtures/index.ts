// Test and lab fixtures: throwaway namespaces and the `ip -j` view of them.
export { NetnsFixture, type FixtureOptions, type Netns, type UnderlayHost, type UnderlayOptions } from "./fixture";
export { runPrefix } from "./naming";
export { cleanupPrefix, cleanupStale } from "./cleanup";
export * from "./inspect";
export { DAEMON_MODE_ENV, SHIPPED_EXECUTABLE, TEST_BUILD_EXECUTABLE, daemonMode } from "./daemons";
export { type VxlanArgs, vxlanAddArgs } from "./vxlan-args";
