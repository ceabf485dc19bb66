// Client-side types that are not resources: the error format, tokens, job states. Resource
// types come from the generated OpenAPI types (see schema.ts).

export type FieldErrors = Record<string, string[]>;

export interface ErrorBody {
  error: { code: string; message: string; fields?: FieldErrors; retry_after?: number };
}

export interface Tokens {
  access: string;
  refresh: string;
}

export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "canceled";
export type JobPhase = JobStatus | "warming_up";

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(["succeeded", "failed", "canceled"]);

export const SCHEDULERS = ["default", "ddim", "euler", "euler_a", "dpm++", "pndm", "lms"] as const;
