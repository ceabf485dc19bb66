// Validates KEDA objects against KEDA's CRD schema, as compiled into @kubernetes-models/keda.
// Reads a JSON array of objects (or one object) on stdin, writes a JSON array with one
// {kind, name, error} per object (error null when valid), exits 1 when any is invalid and 2
// when an object is not a KEDA kind this script knows. infra/k8s/tests calls it.
import { ScaledJob, ScaledObject, TriggerAuthentication, ClusterTriggerAuthentication }
  from "@kubernetes-models/keda/keda.sh/v1alpha1";

const MODELS = { ScaledJob, ScaledObject, TriggerAuthentication, ClusterTriggerAuthentication };
const API_VERSION = "keda.sh/v1alpha1";

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function check(object) {
  const Model = object.apiVersion === API_VERSION ? MODELS[object.kind] : undefined;
  const name = object.metadata?.name ?? null;
  if (!Model) return { kind: object.kind, name, error: `not a KEDA kind: ${object.apiVersion} ${object.kind}`, unknown: true };
  try {
    new Model(object).validate();
    return { kind: object.kind, name, error: null };
  } catch (error) {
    return { kind: object.kind, name, error: error.message };
  }
}

const parsed = JSON.parse(await readStdin());
const results = (Array.isArray(parsed) ? parsed : [parsed]).map(check);
process.stdout.write(JSON.stringify(results) + "\n");
process.exitCode = results.some((r) => r.unknown) ? 2 : results.some((r) => r.error) ? 1 : 0;
