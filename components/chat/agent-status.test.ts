import { describe, expect, it } from "vitest";
import { stageLabel } from "./agent-status";

describe("stageLabel", () => {
  it.each([
    ["launching", "starting the container"],
    ["restoring", "restoring memory"],
    ["spawned", "starting OpenClaw"],
    ["openclaw-import", "loading OpenClaw"],
    ["something_new", "something new"],
    [undefined, undefined],
  ])("%s -> %s", (stage, label) => {
    expect(stageLabel(stage)).toBe(label);
  });
});
