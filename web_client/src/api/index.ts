export { ApiClient, ApiError, isUnavailable } from "./client";
export { browserTokenStore } from "./tokenStore";
export type { ApiClientOptions, TokenStore } from "./client";
export * from "./types";
export type * from "./schema";
export { jobErrorMessage, jobPhase, progressPercent } from "./jobs";
