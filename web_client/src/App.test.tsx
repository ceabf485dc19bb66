import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "./App";
import { fakeApi, json } from "./test/fakeApi";

const ME = { id: "u1", email: "ada@example.com", tier: "free", verified: true };

describe("App", () => {
  it("sends a visitor to log in first, then back to the page they wanted", async () => {
    window.history.replaceState(null, "", "/gallery");
    const { api } = fakeApi((url) => {
      if (url === "/api/auth/token") return json(200, { access: "a", refresh: "r" });
      if (url === "/api/auth/me") return json(200, ME);
      if (url.startsWith("/api/v1/images")) return json(200, { items: [], next_cursor: null });
      return json(404, { error: { code: "not_found", message: "no" } });
    });
    render(<App api={api} />);
    expect(await screen.findByRole("heading", { level: 1, name: "Log in" })).toBe(document.activeElement);
    expect(window.location.pathname).toBe("/login");
    await userEvent.type(screen.getByLabelText("E-mail"), "ada@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "long enough password");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    const title = await screen.findByRole("heading", { level: 1, name: "Gallery" });
    expect(window.location.pathname).toBe("/gallery");
    expect(document.activeElement).toBe(title); // focus moves to the new page for screen readers
    expect(await screen.findByTestId("gallery-empty")).toBeTruthy();
  });

  it("answers an unknown address with a not-found page", async () => {
    window.history.replaceState(null, "", "/nowhere");
    const { api } = fakeApi(() => json(200, ME), { access: "a", refresh: "r" });
    render(<App api={api} />);
    expect(await screen.findByTestId("not-found")).toBeTruthy();
  });

  it("submits a prompt, polls the job without a stream and shows the image with its seed", async () => {
    let polls = 0;
    const { api, calls } = fakeApi((url, init) => {
      if (url === "/api/auth/me") return json(200, ME);
      if (url === "/api/v1/usage") return json(404, { error: { code: "not_found", message: "Not Found" } });
      if (url === "/api/v1/jobs" && init.method === "POST") return json(202, { id: "job-1", status: "queued" });
      polls += 1;
      return polls < 2
        ? json(200, { id: "job-1", status: "running", progress: 0.5 })
        : json(200, {
            id: "job-1", status: "succeeded", progress: 1, params: { prompt: "a red fox" },
            images: [{ url: "/files/a.png?exp=1&sig=x", seed: 1234, width: 256, height: 256 }],
          });
    }, { access: "a", refresh: "r" });
    render(<App api={api} />);
    await userEvent.type(await screen.findByLabelText("Prompt"), "a red fox");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));

    const image = await screen.findByRole("img", { name: /Generated image/ }, { timeout: 4000 });
    expect(image.getAttribute("src")).toBe("/files/a.png?exp=1&sig=x");
    expect(screen.getByTestId("image-seed").textContent).toBe("1234");
    expect(screen.getByTestId("download-link").getAttribute("download")).toBe("atelier-a-red-fox-1234.png"); // as the gallery names it
    const post = calls.find((c) => c.url === "/api/v1/jobs")!;
    expect(JSON.parse(String(post.init.body))).toEqual({
      kind: "txt2img", prompt: "a red fox", width: 256, height: 256, steps: 20, guidance: 7.5, n: 1,
    });
  });

  it("logs out from the account page and revokes the refresh token", async () => {
    window.history.replaceState(null, "", "/account");
    const { api, calls, store } = fakeApi((url) => (url === "/api/auth/logout" ? new Response(null, { status: 205 }) : json(200, ME)),
      { access: "a", refresh: "r" });
    render(<App api={api} />);
    expect((await screen.findByTestId("profile-email")).textContent).toBe("ada@example.com");
    await userEvent.click(screen.getByTestId("logout-button")); // the header has a Log out too
    await waitFor(() => expect(window.location.pathname).toBe("/login"));
    expect(store.value).toBeNull();
    const logout = calls.find((c) => c.url === "/api/auth/logout")!;
    expect(JSON.parse(String(logout.init.body))).toEqual({ refresh: "r" });
    expect(await screen.findByText("You have logged out.")).toBeTruthy();
  });
});
