export { ApiClient, ApiError, isUnavailable, sessionTokenStore } from "./client";
export type { ApiClientOptions, TokenStore } from "./client";
export * from "./types";
export type * from "./schema";
export { jobErrorMessage, jobPhase, progressPercent } from "./jobs";
