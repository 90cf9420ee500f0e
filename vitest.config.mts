import { defineConfig } from "vitest/config";

// Two projects: unit tests need no root; integration tests run the built executable
// against real namespaces, one file at a time (they share the kernel).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts", "test/hardening/**/*.test.ts"],
          environment: "node",
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          globalSetup: ["test/helpers/global-setup.ts"],
        },
      },
    ],
  },
});
