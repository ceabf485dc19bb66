// The "webhooks" browser flow (not registered in flows.mjs yet; the lead decides): on the API keys
// page, add an endpoint pointing at a receiver this flow runs on 127.0.0.1 (development allows
// loopback), see its secret once, send a test event and watch the delivery log say "delivered"
// with the receiver's status, rotate the secret, then remove the endpoint. Screenshots at 1280
// and 390 px.
import { createServer } from "node:http";
import { loaded, newVerifiedUser, outcome } from "./lib.mjs";

/** A receiver that answers 204 and counts what it got. */
async function receiver() {
  const received = [];
  const server = createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/atelier-hooks`, received, close: () => server.close() };
}

export async function webhooks({ page, step, shot }) {
  const hooks = await receiver();
  try {
    await newVerifiedUser(page, step);
    step("opening the API keys page");
    await page.getByRole("link", { name: "API keys" }).first().click().catch(async () => {
      await page.getByTestId("menu-button").click();
      await page.getByRole("link", { name: "API keys" }).first().click();
    });
    await loaded(page, "webhooks", "webhooks");

    step("adding an endpoint");
    await page.getByTestId("webhook-url").fill(hooks.url);
    await page.getByTestId("webhook-description").fill("flow receiver");
    await page.getByTestId("add-webhook").click();
    await outcome(page, "webhook-secret");
    const secret = await page.getByTestId("webhook-secret").inputValue();
    if (!secret.startsWith("whsec_")) throw new Error(`the secret shown is "${secret}"`);
    await shot("secret");
    await page.getByRole("button", { name: "I have saved it" }).click();
    await page.getByTestId("webhook-item").waitFor();

    step("sending a test event");
    await page.getByTestId("test-webhook").click();
    await page.getByTestId("delivery-log").waitFor();
    const deadline = Date.now() + 20_000;
    while ((await page.getByTestId("delivery-status").first().innerText().catch(() => "")).trim() !== "delivered") {
      if (Date.now() > deadline) throw new Error("the test event was not delivered within 20 s");
      await page.waitForTimeout(500);
      await page.getByTestId("refresh-log").click();
    }
    if (!hooks.received.some((r) => r.headers["atelier-webhook-event"] === "ping")) throw new Error("the receiver got no ping");
    await shot("log");

    step("rotating the secret");
    await page.getByTestId("rotate-webhook").click();
    await outcome(page, "webhook-secret");
    if ((await page.getByTestId("webhook-secret").inputValue()) === secret) throw new Error("the secret did not change");
    await page.getByRole("button", { name: "I have saved it" }).click();

    step("removing the endpoint");
    await page.getByTestId("delete-webhook").click();
    await page.getByTestId("no-webhooks").waitFor();
    await shot("removed", { phone: false });
  } finally {
    hooks.close();
  }
}
