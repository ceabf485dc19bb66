import { describe, expect, it } from "vitest";
import { MAX_PREVIEW_CHARS, previewLabel, readPreview } from "./preview";

const IMAGE = "data:image/jpeg;base64,/9j/4AAQSkZJRg==";

describe("readPreview", () => {
  it("takes a small image data URL of this job, with its step", () => {
    expect(readPreview(JSON.stringify({ job_id: "j1", step: 7, image: IMAGE }), "j1")).toEqual({ image: IMAGE, step: 7 });
    const webp = "data:image/webp;base64,UklGRg==";
    expect(readPreview(JSON.stringify({ job_id: "j1", image: webp }), "j1")).toEqual({ image: webp, step: null });
    expect(readPreview(JSON.stringify({ job_id: "j1", step: -1, image: IMAGE }), "j1")?.step).toBeNull();
  });

  it.each([
    ["another job's", { job_id: "j2", image: IMAGE }],
    ["an SVG", { job_id: "j1", image: "data:image/svg+xml;base64,PHN2Zz4=" }],
    ["a link elsewhere", { job_id: "j1", image: "https://example.com/a.jpg" }],
    ["script in the data", { job_id: "j1", image: 'data:image/jpeg;base64,"><script>' }],
    ["an oversized", { job_id: "j1", image: `data:image/jpeg;base64,${"A".repeat(MAX_PREVIEW_CHARS)}` }],
    ["a missing", { job_id: "j1" }],
  ])("refuses %s image", (_what, body) => {
    expect(readPreview(JSON.stringify(body), "j1")).toBeNull();
  });

  it("refuses what is not a JSON object", () => {
    for (const data of ["", "{", "null", "[1]", '"data:image/jpeg;base64,AA=="']) expect(readPreview(data, "j1")).toBeNull();
  });
});

describe("previewLabel", () => {
  it("names the step and which image the preview shows", () => {
    expect(previewLabel(3, 20, 1)).toBe("Rough preview of the image being generated, at step 3 of 20");
    expect(previewLabel(3, null, 4)).toBe("Rough preview of the first image being generated, at step 3");
    expect(previewLabel(null, 20, 1)).toBe("Rough preview of the image being generated");
  });
});
