import { describe, expect, it } from "vitest";
import { attachmentLockName } from "../../../src/plugin/attachment-lock";
import { attachmentMark, judgeMark } from "../../../src/plugin/attachment-mark";
import { ATTACHMENT_LOCK_STRIPES, isLockFileOf, lockFileName } from "../../../src/plugin/lock-layout";

const key = { network: "net1", containerId: "c1", ifName: "eth0" };

describe("attachment mark", () => {
  it("is ours for the same attachment only; an alias of anyone else is unmarked", () => {
    const mark = attachmentMark(key);
    expect(mark).toMatch(/^cnikit [0-9a-f]{16} net1\/c1$/);
    expect(judgeMark(mark, key)).toBe("ours");
    expect(judgeMark(mark, { ...key, containerId: "c2" })).toBe("another attachment's");
    expect(judgeMark(mark, { ...key, network: "net2" })).toBe("another attachment's");
    expect(judgeMark(undefined, key)).toBe("unmarked");
    expect(judgeMark("uplink to rack 3", key)).toBe("unmarked");
  });

  it("fits the kernel's 255-byte alias whatever the ids", () => {
    const long = { network: "n".repeat(300), containerId: "c".repeat(300), ifName: "eth0" };
    expect(attachmentMark(long).length).toBeLessThanOrEqual(255);
    expect(judgeMark(attachmentMark(long), long)).toBe("ours");
  });
});

describe("attachment locks and the lock layout", () => {
  it("one stripe per attachment, always the same, within the bound", () => {
    const names = new Set<string>();
    for (let i = 0; i < 1000; i++) names.add(attachmentLockName({ ...key, containerId: `c${i}` }));
    expect(names.size).toBeLessThanOrEqual(ATTACHMENT_LOCK_STRIPES);
    expect(names.size).toBeGreaterThan(ATTACHMENT_LOCK_STRIPES / 2);
    expect(attachmentLockName(key)).toBe(attachmentLockName({ ...key }));
  });

  it("lock file names carry the namespace inode and a sanitized object", () => {
    expect(lockFileName(4026531840, "bridge-cni0")).toBe("4026531840-bridge-cni0.lock");
    expect(lockFileName(7, "a/b c")).toBe("7-a_b_c.lock");
    expect(isLockFileOf("7-a_b_c.lock", 7)).toBe(true);
    expect(isLockFileOf("77-a.lock", 7)).toBe(false);
  });
});
