// `cnikit lab list`: the labs whose state files exist.
import { formatTable, writeStdout } from "../output";
import { listLabNames, readLabState } from "./state";

export function labList(): void {
  const rows = listLabNames().flatMap((name) => {
    const state = readLabState(name);
    return state
      ? [
          [
            name,
            state.plan.plugin,
            String(state.plan.hosts.length),
            String(state.plan.containers.length),
            state.createdAt,
          ],
        ]
      : [];
  });
  if (rows.length > 0) writeStdout(formatTable(["LAB", "PLUGIN", "HOSTS", "CONTAINERS", "CREATED"], rows));
}
