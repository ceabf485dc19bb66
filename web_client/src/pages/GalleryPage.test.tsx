import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { pickUpHandoff } from "../handoff";
import { fakeApi, json } from "../test/fakeApi";

const ME = { id: "u1", email: "ada@example.com", tier: "free", verified: true };
const PROMPTS = ["a red fox in snow", "a lighthouse at dusk", "a fox and a heron", "still life with pears", "an old Heron on a post"];
const image = (n: number) => ({
  id: `i${n}`, job_id: "j", url: `/files/jobs/j/${n}.png?sig=s`, seed: 100 + n, width: 256, height: 256,
  params: { prompt: PROMPTS[n - 1], steps: 12, guidance: 7, scheduler: "ddim" }, created_at: "2026-11-23T10:00:00Z",
});

let confirm: ReturnType<typeof vi.fn>;

function renderGallery() {
  window.history.replaceState(null, "", "/gallery");
  const gone = new Set<string>();
  const kept = (ns: number[]) => ns.map(image).filter((i) => !gone.has(i.id));
  const { api, calls } = fakeApi((url, init) => {
    if (url === "/api/auth/me") return json(200, ME);
    if (url.startsWith("/api/v1/images/") && init.method === "DELETE") {
      if (url.endsWith("/i4")) return json(409, { error: { code: "conflict", message: "The image is in use." } });
      gone.add(url.split("/").pop()!);
      return new Response(null, { status: 204 });
    }
    if (url.startsWith("/api/v1/images?")) {
      // Four on the first page; the server's search also finds the fifth, which is older.
      const q = new URL(url, "http://x").searchParams.get("q");
      if (q) return json(200, { items: kept([1, 2, 3, 4, 5]).filter((i) => q.split(" ").every((w) => i.params.prompt.toLowerCase().includes(w))), next_cursor: null });
      return json(200, { items: kept([1, 2, 3, 4]), next_cursor: "older" });
    }
    return json(404, { error: { code: "not_found", message: "no" } });
  }, { access: "a", refresh: "r" });
  render(<App api={api} />);
  const deleted = () => calls.filter((c) => c.init.method === "DELETE").map((c) => c.url.split("/").pop());
  const searches = () => calls.map((c) => new URL(c.url, "http://x").searchParams.get("q")).filter(Boolean);
  return { deleted, searches };
}

const seeds = () => screen.getAllByTestId("gallery-seed").map((s) => s.textContent);
const openButton = (seed: number) => screen.getByRole("button", { name: new RegExp(`seed ${seed}\\): view large`) });

beforeEach(() => {
  confirm = vi.fn(() => true);
  Object.defineProperty(window, "confirm", { value: confirm, configurable: true, writable: true });
});

describe("Gallery page", () => {
  it("filters what is loaded at once by every word of the prompt, then asks the server", async () => {
    const { searches } = renderGallery();
    await screen.findAllByTestId("gallery-item");
    await userEvent.type(screen.getByLabelText("Search prompts"), "FOX");
    expect(seeds()).toEqual(["101", "103"]); // before the server answers
    await userEvent.type(screen.getByLabelText("Search prompts"), " heron");
    expect(seeds()).toEqual(["103"]);
    // Once typing pauses, one request for the whole search; a narrower one finds an older match too.
    await waitFor(() => expect(searches()).toEqual(["fox heron"]));
    expect(seeds()).toEqual(["103"]);
    await userEvent.clear(screen.getByLabelText("Search prompts"));
    await userEvent.type(screen.getByLabelText("Search prompts"), "heron");
    await waitFor(() => expect(seeds()).toEqual(["103", "105"]));
    expect(screen.getByTestId("gallery-search-hint").textContent).toBe("2 images match.");
    expect(searches()).toEqual(["fox heron", "heron"]);

    await userEvent.type(screen.getByLabelText("Search prompts"), " owl");
    await waitFor(() => expect(searches()).toContain("heron owl"));
    expect(screen.queryAllByTestId("gallery-item")).toHaveLength(0);
    expect(screen.getByTestId("gallery-no-match").textContent).toBe("No image has “heron owl” in its prompt.");
    expect(screen.queryByTestId("gallery-empty")).toBeNull();
  });

  it("opens an image large, walks the shown images, and gives focus back to the last one's card", async () => {
    renderGallery();
    await screen.findAllByTestId("gallery-item");
    await userEvent.type(screen.getByLabelText("Search prompts"), "fox");
    await userEvent.click(openButton(101));
    const dialog = screen.getByRole("dialog");
    expect(within(dialog).getByTestId("lightbox-position").textContent).toBe("Image 1 of 2"); // the filtered list
    await userEvent.keyboard("{ArrowRight}");
    expect(within(dialog).getByTestId("lightbox-params").textContent).toContain("a fox and a heron");
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).toBeNull();
    await waitFor(() => expect(document.activeElement).toBe(openButton(103)));
  });

  it("deletes from the large view and shows the neighbour; the last one closes it", async () => {
    const { deleted, searches } = renderGallery();
    await screen.findAllByTestId("gallery-item");
    await userEvent.click(openButton(102));
    await userEvent.click(screen.getByTestId("lightbox-delete"));
    await waitFor(() => expect(seeds()).toEqual(["101", "103", "104"]));
    expect(deleted()).toEqual(["i2"]);
    expect(screen.getByTestId("lightbox-position").textContent).toBe("Image 2 of 3");
    expect(screen.getByTestId("lightbox-params").textContent).toContain("a fox and a heron");
    expect(screen.getByTestId("gallery-status").textContent).toBe("Image deleted.");

    confirm.mockReturnValueOnce(false); // changed their mind: nothing is deleted
    await userEvent.click(screen.getByTestId("lightbox-delete"));
    expect(deleted()).toEqual(["i2"]);

    await userEvent.keyboard("{ArrowRight}"); // i4 refuses to go (the fake answers 409): it stays in view
    await userEvent.click(screen.getByTestId("lightbox-delete"));
    await waitFor(() => expect(screen.getByTestId("gallery-status").textContent).toBe("Could not delete an image: The image is in use."));
    expect(screen.getByTestId("lightbox-position").textContent).toBe("Image 3 of 3");

    await userEvent.keyboard("{Escape}");
    await userEvent.type(screen.getByLabelText("Search prompts"), "snow");
    await waitFor(() => expect(searches()).toEqual(["snow"]));
    await userEvent.click(openButton(101));
    await userEvent.click(screen.getByTestId("lightbox-delete"));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(deleted()).toEqual(["i2", "i4", "i1"]);
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId("gallery-status")));
  });

  it("deleting from a card puts focus on the card that took its place", async () => {
    renderGallery();
    await screen.findAllByTestId("gallery-item");
    await userEvent.click(screen.getByRole("button", { name: /Delete image with seed 103/ }));
    await waitFor(() => expect(seeds()).toEqual(["101", "102", "104"]));
    await waitFor(() => expect(document.activeElement).toBe(openButton(104)));
  });

  it("deletes several selected images after one confirmation, keeping the one that failed", async () => {
    const { deleted } = renderGallery();
    await screen.findAllByTestId("gallery-item");
    const boxes = screen.getAllByRole("checkbox", { name: /^Select image/ });
    await userEvent.click(boxes[0]);
    await userEvent.click(boxes[3]);
    expect(screen.getByTestId("selection-count").textContent).toBe("2 selected");
    await userEvent.click(screen.getByRole("checkbox", { name: "Select all shown" }));
    expect(screen.getByTestId("selection-count").textContent).toBe("4 selected");
    await userEvent.click(boxes[1]);
    await userEvent.click(screen.getByRole("button", { name: "Delete selected (3)" }));
    expect(confirm).toHaveBeenCalledTimes(1);
    expect(confirm).toHaveBeenCalledWith("Delete these 3 images? This cannot be undone.");
    await waitFor(() => expect(seeds()).toEqual(["102", "104"]));
    expect(deleted()).toEqual(["i1", "i3", "i4"]);
    expect(screen.getByTestId("gallery-status").textContent).toBe("2 images deleted. Could not delete an image: The image is in use.");
    expect(screen.getByTestId("selection-count").textContent).toBe("1 selected"); // the one that failed
    await waitFor(() => expect(document.activeElement).toBe(openButton(102)));
  });

  it("'use as input' goes to the generate page with the image handed over", async () => {
    renderGallery();
    await screen.findAllByTestId("gallery-item");
    await userEvent.click(openButton(102));
    await userEvent.click(screen.getByRole("button", { name: "Use as input" }));
    await waitFor(() => expect(window.location.pathname).toBe("/generate"));
    const handoff = pickUpHandoff(new URLSearchParams(window.location.search));
    expect(handoff).toMatchObject({ use: "input", seed: 102, image: { id: "i2" }, params: { prompt: "a lighthouse at dusk" } });
  });
});
