/**
 * The OpenAPI document's finishing touches and the browsable /docs page (Swagger UI, served from
 * the installed package: no CDN, works offline).
 */
import type { FastifyInstance } from 'fastify';
import swaggerUi from '@fastify/swagger-ui';

/** The document's servers: the service that serves it (a relative URL, whatever its address). */
export const SERVERS = [{ url: '/', description: 'this dcs-tasks service' }];

type Doc = { paths?: Record<string, Record<string, { parameters?: { in?: string; name?: string; schema?: Record<string, unknown> }[] }>> };

/**
 * offset and limit are integers on the wire; the routes take them as strings (to answer a bad
 * one with DCS.4800 naming it, not Ajv's message), so the document says what a caller sends.
 */
export function integerPaging<T>(doc: T): T {
  for (const item of Object.values((doc as Doc).paths ?? {})) {
    for (const op of Object.values(item)) {
      for (const p of op.parameters ?? []) {
        if (p.in !== 'query' || !p.schema || p.schema.type !== 'string') continue;
        if (p.name === 'offset') p.schema = { ...p.schema, type: 'integer', minimum: 0 };
        if (p.name === 'limit') p.schema = { ...p.schema, type: 'integer', minimum: 1, maximum: 1000 };
      }
    }
  }
  return doc;
}

export async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });
}
