import { describe, expect, it } from "vitest";
import type { GalleryImage } from "./api";
import { imageFileName } from "./downloadName";
import { handOffToGenerate, pickUpHandoff } from "./handoff";

const IMAGE: GalleryImage = {
  id: "5f0c3d1e-0000-4000-8000-000000000001", job_id: "j", url: "/files/jobs/j/0.png?exp=1&sig=s", seed: 4242, width: 384, height: 256,
  params: { prompt: "a red fox", steps: 14, guidance: 6.5, scheduler: "ddim", seed: 4242, kind: "txt2img" }, created_at: "2026-11-23T10:00:00Z",
};

describe("handing an image to the generate page", () => {
  it("names the image in the address and keeps its parameters for that page", () => {
    const path = handOffToGenerate(IMAGE, "input");
    expect(path).toBe(`/generate?from=${IMAGE.id}&use=input`);
    const picked = pickUpHandoff(new URL(path, "http://x").searchParams);
    expect(picked).toEqual({
      use: "input", params: IMAGE.params, seed: 4242, image: { id: IMAGE.id, url: IMAGE.url, width: 384, height: 256 },
    });
    // Reading leaves it in place: a reload of the same address finds it again.
    expect(pickUpHandoff(new URL(path, "http://x").searchParams)?.seed).toBe(4242);
  });

  it("finds nothing for another image, an unknown use, or a page without ?from", () => {
    handOffToGenerate(IMAGE, "settings");
    expect(pickUpHandoff(new URLSearchParams("from=someone-else&use=settings"))).toBeNull();
    expect(pickUpHandoff(new URLSearchParams(`from=${IMAGE.id}&use=delete`))).toBeNull();
    expect(pickUpHandoff(new URLSearchParams("job=j1"))).toBeNull();
    window.sessionStorage.setItem("atelier.handoff", "{not json");
    expect(pickUpHandoff(new URLSearchParams(`from=${IMAGE.id}`))).toBeNull();
  });
});

describe("download file names", () => {
  it("say what the image is: the prompt's first words and the seed", () => {
    expect(imageFileName("A Lighthouse, on a cliff at dusk — oil painting!", 1234, "/files/jobs/j/0.png?exp=1&sig=x"))
      .toBe("atelier-a-lighthouse-on-a-cliff-at-1234.png");
    expect(imageFileName("Café crème", 7, "/files/k/1.webp?sig=x")).toBe("atelier-cafe-creme-7.webp");
    expect(imageFileName("", 7, "/files/k/1")).toBe("atelier-7.png");
    expect(imageFileName("日本の風景", 7, "/files/k/1.png")).toBe("atelier-7.png");
    const long = imageFileName("supercalifragilisticexpialidocious ".repeat(6), 1, "/f.png");
    expect(long.length).toBeLessThanOrEqual("atelier--1.png".length + 48);
  });
});
