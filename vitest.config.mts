import { defineConfig } from "vitest/config";

// Unit tests need no root. Integration tests run the built executable against real
// namespaces, one file at a time (they share the kernel), twice: standalone, and in
// resident mode, where every host namespace a fixture makes has its own `cnikit daemon`
// and the plugin front end hands each call to it (netns-fixtures/daemons.ts). The
// group order runs the two integration projects one after the other, never together.
const integration = {
  include: ["test/integration/**/*.test.ts", "test/hardening/**/*.test.ts"],
  environment: "node",
  fileParallelism: false,
  testTimeout: 120_000,
  hookTimeout: 120_000,
  globalSetup: ["test/helpers/global-setup.ts"],
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: { ...integration, name: "integration", sequence: { groupOrder: 1 } },
      },
      {
        test: {
          ...integration,
          name: "integration-daemon",
          env: { CNIKIT_TEST_DAEMON: "1" },
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
