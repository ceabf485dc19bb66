// The "staff" browser flow, run by tests/e2e/test_staff.py (it makes the staff account with
// `make staff` and a person with one finished job first, and passes them in the environment):
// /admin/ leads to both admins, one staff identity logs into each, payments' admin shows money,
// and the accounts admin finds the person's job with its owner and removes its image.
//
//   STAFF_EMAIL=... STAFF_PASSWORD=... OWNER_EMAIL=... node e2e/staffFlow.mjs
import { BASE_URL, runFlow } from "./lib.mjs";

const { STAFF_EMAIL, STAFF_PASSWORD, OWNER_EMAIL } = process.env;

async function logIntoAdmin(page, linkName) {
  await page.goto(`${BASE_URL}/admin/`);
  await page.getByRole("link", { name: linkName }).click();
  await page.locator("#id_username").fill(STAFF_EMAIL);
  await page.locator("#id_password").fill(STAFF_PASSWORD);
  await page.locator("input[type=submit], button[type=submit]").first().click();
  await page.locator("#user-tools").waitFor();
}

async function staff({ page, step, shot }) {
  if (!STAFF_EMAIL || !STAFF_PASSWORD || !OWNER_EMAIL) throw new Error("STAFF_EMAIL, STAFF_PASSWORD and OWNER_EMAIL are required");

  step("the staff front door leads to both admins");
  await page.goto(`${BASE_URL}/admin/`);
  for (const name of ["Accounts admin", "Payments admin", "Jobs and images"]) {
    await page.getByRole("link", { name }).waitFor();
  }
  await shot("home");

  step("payments' admin takes the staff account of auth, and says so on its login form");
  await page.goto(`${BASE_URL}/admin/payments/login/`);
  await page.getByText("E-mail address").first().waitFor();
  await shot("payments-login");
  await logIntoAdmin(page, "Payments admin");
  await page.getByRole("link", { name: "Ledger entries" }).waitFor();
  await shot("payments-home");

  step("prices read as money");
  await page.goto(`${BASE_URL}/admin/payments/plans/plan/`);
  const price = (await page.locator("td.field-price").first().innerText()).trim();
  if (!/^(\$|€|£)?[\d,]+(\.\d\d)?( [A-Z]{3})?$/.test(price) || !/[$€£A-Z]/.test(price)) throw new Error(`a plan's price reads "${price}"`);
  await shot("payments-plans");

  step("the same account opens the accounts admin");
  await logIntoAdmin(page, "Accounts admin");
  await shot("auth-home", { phone: false });

  step("staff find a person's job by e-mail address, with its owner and image");
  await page.goto(`${BASE_URL}/admin/auth/accounts/user/jobs/`);
  await page.getByLabel("E-mail address, user id, job id or image id").fill(OWNER_EMAIL);
  await page.getByRole("button", { name: "Find" }).click();
  const job = page.locator("section.staff-job").first();
  await job.getByRole("link", { name: OWNER_EMAIL }).waitFor();
  await job.locator("img").first().waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll("section.staff-job img")].every((img) => img.complete && img.naturalWidth > 0));
  await shot("jobs");

  step("staff remove the image");
  await job.getByRole("button", { name: /^Remove image / }).first().click();
  await page.getByText("Image removed.").waitFor();
  await page.getByText("No images.").waitFor();
  await shot("image-removed");
}

process.exit(await runFlow("staff", staff));
