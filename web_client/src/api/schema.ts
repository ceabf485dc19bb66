// The API's resource types, from the types generated out of the services' OpenAPI documents
// (./generated, `npm run gen:api`). The one HAND-WRITTEN type is marked with the reason.
import type { components as AuthComponents } from "./generated/auth";
import type { components as PaymentsComponents } from "./generated/payments";
import type { components as PreInferenceComponents } from "./generated/pre_inference";

type A = AuthComponents["schemas"];
type P = PaymentsComponents["schemas"];
type V1 = PreInferenceComponents["schemas"];

/** Sign-up answers User; /me adds `verified` and `date_joined`. */
export type User = A["User"] & Partial<Pick<A["Me"], "verified" | "date_joined">>;
export type ApiKey = A["ApiKey"];
export type CreatedApiKey = ApiKey & { secret: string };

export type Job = V1["JobOut"];
export type JobImage = V1["ImageOut"];
export type JobRequest = V1["JobRequest"];
export type JobPage = V1["JobPage"];
export type GalleryImage = V1["GalleryImage"];
export type ImagePage = V1["ImagePage"];
export type Usage = V1["UsageOut"];
export type Tiers = V1["TiersOut"];
export type Tier = V1["TierOut"];
/** A model the workers serve: its state, its family's limits, and whether the caller's tier may use it. */
export type ModelInfo = V1["ModelOut"];
export type ModelList = V1["ModelsOut"];
export type Webhook = V1["WebhookOut"];
/** What create and rotate-secret answer: the endpoint with its signing secret, shown once. */
export type CreatedWebhook = V1["WebhookWithSecret"];
export type WebhookList = V1["WebhookList"];
export type WebhookDelivery = V1["DeliveryOut"];
export type WebhookDeliveryPage = V1["DeliveryPage"];

export type Subscription = P["Subscription"];
export type Invoice = P["Invoice"];
/** What switching plan costs now (prorated, minor units); change-preview answers it. */
export type PlanChangeQuote = P["PlanChangeQuote"];
export type LedgerEntry = P["LedgerEntry"];
/** A page of ledger entries with the caller's credit balance. */
export type Ledger = P["LedgerPage"];

/** HAND-WRITTEN view model: the pricing page lists plans and credit packs (both generated) together. */
export type Plan =
  | (P["Plan"] & { kind: "plan"; credits?: undefined })
  | (P["CreditPack"] & { kind: "pack"; interval?: undefined; tier?: undefined });

