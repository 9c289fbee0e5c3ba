/**
 * The route schemas are JSON Schema draft-07 (what Fastify's Ajv validates with); the document
 * at /openapi.json is OpenAPI 3.0, whose schema dialect differs in one keyword we use:
 * `exclusiveMinimum`/`exclusiveMaximum` are booleans beside minimum/maximum there, numbers in
 * draft-07. @fastify/swagger already turns type arrays with "null" into `nullable`; this turns
 * the numeric bounds into the 3.0 form, in a copy (the routes keep validating with theirs).
 */
type Json = unknown;

function convert(node: Json): Json {
  if (Array.isArray(node)) return node.map(convert);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(node)) out[k] = convert(v);
  for (const [exclusive, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    const n = out[exclusive];
    if (typeof n !== 'number') continue;
    const inclusive = out[bound];
    // Of the two bounds, the stricter one decides; equal means exclusive.
    const tighter = typeof inclusive !== 'number' || (bound === 'minimum' ? n >= inclusive : n <= inclusive);
    if (tighter) {
      out[bound] = n;
      out[exclusive] = true;
    } else {
      delete out[exclusive];
    }
  }
  return out;
}

export function toOpenApi30(doc: Record<string, unknown>): Record<string, unknown> {
  return convert(doc) as Record<string, unknown>;
}
