import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { AuthForm } from "./AuthForm";
import { fakeApi, json } from "../test/fakeApi";

describe("AuthForm", () => {
  it("shows field errors and sends nothing when the form is invalid", async () => {
    const { api, calls } = fakeApi(() => json(500, {}));
    render(<AuthForm api={api} onLoggedIn={vi.fn()} />);
    await userEvent.type(screen.getByLabelText("E-mail"), "not-an-email");
    await userEvent.type(screen.getByLabelText("Password"), "short");
    await userEvent.click(screen.getByRole("button", { name: "Sign up" }));
    expect(screen.getByTestId("email-error").textContent).toMatch(/valid e-mail/);
    expect(screen.getByTestId("password-error").textContent).toMatch(/at least 8/);
    expect(screen.getByLabelText("E-mail").getAttribute("aria-invalid")).toBe("true");
    expect(calls).toHaveLength(0);
  });

  it("puts the API's field errors next to the field and its message in a banner", async () => {
    const { api } = fakeApi(() => json(400, {
      error: { code: "validation_error", message: "Check the highlighted fields.", fields: { email: ["This e-mail is already registered."] } },
    }));
    render(<AuthForm api={api} onLoggedIn={vi.fn()} />);
    await userEvent.type(screen.getByLabelText("E-mail"), "taken@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "long enough password");
    await userEvent.click(screen.getByRole("button", { name: "Sign up" }));
    expect((await screen.findByTestId("email-error")).textContent).toBe("This e-mail is already registered.");
    expect(screen.getByRole("alert").textContent).toContain("Check the highlighted fields.");
  });

  it("keeps the sign-up password rule off the login form and lets any typed password try to log in", async () => {
    const onLoggedIn = vi.fn();
    const { api, calls } = fakeApi(() => json(200, { access: "a", refresh: "r" }));
    render(<AuthForm api={api} onLoggedIn={onLoggedIn} primary="login" />);
    expect(screen.queryByText(/At least 8 characters/)).toBeNull();
    await userEvent.type(screen.getByLabelText("E-mail"), "old@example.com");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(screen.getByTestId("password-error").textContent).toBe("Enter a password.");
    await userEvent.type(screen.getByLabelText("Password"), "short");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(onLoggedIn).toHaveBeenCalledOnce();
    expect(calls.map((c) => c.url)).toEqual(["/api/auth/token"]);
  });

  it("shows the password rule when signing up", () => {
    const { api } = fakeApi(() => json(500, {}));
    render(<AuthForm api={api} onLoggedIn={vi.fn()} primary="signup" />);
    expect(screen.getByText("At least 8 characters.")).toBeTruthy();
  });

  it("shows a server message as a sentence", async () => {
    const { api } = fakeApi(() => json(401, { error: { code: "invalid_credentials", message: "e-mail address or password is wrong" } }));
    render(<AuthForm api={api} onLoggedIn={vi.fn()} />);
    await userEvent.type(screen.getByLabelText("E-mail"), "ada@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "long enough password");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect((await screen.findByRole("alert")).textContent).toContain("E-mail address or password is wrong.");
  });

  it("signs up, then logs in", async () => {
    const onLoggedIn = vi.fn();
    const { api, store } = fakeApi((url) =>
      url === "/api/auth/signup"
        ? json(201, { id: "u1", email: "new@example.com", tier: "free" })
        : json(200, { access: "a", refresh: "r" }),
    );
    render(<AuthForm api={api} onLoggedIn={onLoggedIn} />);
    await userEvent.type(screen.getByLabelText("E-mail"), "new@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "long enough password");
    await userEvent.click(screen.getByRole("button", { name: "Sign up" }));
    expect((await screen.findByTestId("auth-info")).textContent).toContain("new@example.com");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(onLoggedIn).toHaveBeenCalledOnce();
    expect(store.value).toEqual({ access: "a", refresh: "r" });
  });
});

