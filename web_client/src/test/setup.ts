import { cleanup } from "@testing-library/react";
import { afterEach, beforeEach } from "vitest";
import { FakeEventSource } from "./fakeApi";

beforeEach(() => {
  window.history.replaceState(null, "", "/");
  FakeEventSource.opened = [];
});

afterEach(() => {
  cleanup();
  window.sessionStorage.clear();
  window.localStorage.clear();
});
