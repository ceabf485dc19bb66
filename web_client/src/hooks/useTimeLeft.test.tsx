import { renderHook } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { Job } from "../api";
import { timeLeftText, useTimeLeft } from "./useTimeLeft";

const running = (step: number, id = "j1") => ({ id, status: "running", step, total_steps: 20 }) as unknown as Job;

describe("useTimeLeft", () => {
  it("estimates from the pace of the steps seen, and says nothing before it can", () => {
    let clock = 10_000;
    const { result, rerender } = renderHook(({ job }) => useTimeLeft(job, () => clock), { initialProps: { job: running(4) } });
    expect(result.current).toBeNull(); // one step seen: no pace yet
    clock += 2_000;
    rerender({ job: running(6) }); // 2 steps in 2 s: 1 s a step, 14 to go
    expect(result.current).toBe(14);
    clock += 8_000;
    rerender({ job: running(10) }); // 6 steps in 10 s
    expect(result.current).toBe(17);
  });

  it("starts over for another job, and gives nothing for a job that is not running", () => {
    let clock = 0;
    const { result, rerender } = renderHook(({ job }) => useTimeLeft(job, () => clock), { initialProps: { job: running(5) } });
    clock = 1_000;
    rerender({ job: running(6, "j2") });
    expect(result.current).toBeNull();
    rerender({ job: { ...running(7, "j2"), status: "succeeded" } as Job });
    expect(result.current).toBeNull();
  });

  it("words the estimate", () => {
    expect(timeLeftText(null)).toBeNull();
    expect(timeLeftText(0)).toBe("almost done");
    expect(timeLeftText(12)).toBe("about 12 s left");
    expect(timeLeftText(300)).toBe("about 5 min left");
  });
});
