import { describe, expect, it } from "vitest";
import { budgetLeft, costInWords, costUnits, denoisedSteps, secondsUntilAffordable } from "./cost";

describe("costUnits", () => {
  // Expected values computed once with the server's own function:
  // services/pre_inference/app/domain/policy.py cost_units(JobParams(width, height, steps, n, ...)).
  it.each([
    [512, 512, 30, 1, 1.0],
    [256, 256, 20, 1, 1.0],
    [512, 512, 20, 1, 1.0],
    [768, 512, 30, 2, 3.0],
    [1024, 1024, 50, 4, 26.6667],
    [1024, 576, 25, 1, 1.875],
    [384, 256, 7, 3, 1.0],
    [512, 384, 30, 4, 3.0],
    [640, 384, 45, 3, 4.2188],
    [1024, 768, 37, 2, 7.4],
    [576, 1024, 13, 3, 2.925],
  ])("%i×%i, %i steps, %i images costs %f like the server", (width, height, steps, n, expected) => {
    expect(costUnits(width, height, steps, n)).toBe(expected);
  });
});

describe("denoisedSteps", () => {
  // The same cases as services/pre_inference/tests/unit/test_policy.py test_image_to_image_costs_the_steps_it_runs.
  it.each([
    ["img2img", 60, 0.5, 30],
    ["inpaint", 60, 1, 60],
    ["img2img", 50, 0.58, 28], // 50 * 0.58 is 28.999999999999996 in floating point, on both sides
    ["img2img", 30, 0.75, 22],
    ["img2img", 1, 0.1, 1],
    ["img2img", 4, 0.2, 4], // runs no step: refused, counted as every step
    ["txt2img", 60, 0.5, 60],
    ["img2img", 30, Number.NaN, 30], // a strength the form refuses counts every step
    ["img2img", 30, 0, 30],
  ])("%s, %i steps at strength %f runs %i", (kind, steps, strength, expected) => {
    expect(denoisedSteps(kind, steps, strength)).toBe(expected);
  });
});

describe("costInWords", () => {
  it("names the unit and keeps the server's precision", () => {
    expect(costInWords(1)).toBe("1 cost unit");
    expect(costInWords(3)).toBe("3 cost units");
    expect(costInWords(26.6667)).toBe("26.6667 cost units");
  });
});

describe("secondsUntilAffordable", () => {
  it("counts the continuous refill: 5 a minute is one unit every 12 s", () => {
    expect(secondsUntilAffordable(1, 4, 5)).toBe(0);
    expect(secondsUntilAffordable(3, 1, 5)).toBe(24);
    expect(secondsUntilAffordable(1.875, 0, 60)).toBe(2);
  });
});

describe("budgetLeft", () => {
  it("is the part of the minute already refilled before the reset time", () => {
    const now = 1_000_000;
    expect(budgetLeft(5, now, now)).toBe(5);
    expect(budgetLeft(5, now - 5_000, now)).toBe(5);
    expect(budgetLeft(5, now + 30_000, now)).toBe(2.5);
    expect(budgetLeft(60, now + 60_000, now)).toBe(0);
  });
});
