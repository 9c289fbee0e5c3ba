/** Token issue: a signed call returns a token for the calling credential, once. */
import type { FastifyPluginAsync } from 'fastify';
import type { Authenticator } from '../../auth/authenticator.js';
import { READS, complete, pathParams, responses } from '../schemas.js';

const MAX_TTL = 7 * 24 * 3600;

export const tokenRoutes: FastifyPluginAsync<{ auth: Authenticator }> = async (app, { auth }) => {
  app.post<{ Params: { project_id: string }; Body: { ttl_seconds: number } }>('/tokens', {
    config: READS,
    schema: {
      summary: 'Issue a token for the calling credential (X-Auth-Token); returned once, stored only as a hash', tags: ['auth'],
      operationId: 'CreateToken',
      params: pathParams('project_id'),
      body: { type: 'object', required: ['ttl_seconds'], properties: { ttl_seconds: { type: 'integer', minimum: 60, maximum: MAX_TTL } } },
      response: responses({ 200: complete({ type: 'object', properties: { token: { type: 'string' }, expires_at: { type: 'string' } } }) }),
    },
  }, async (req) => {
    const t = await auth.issueToken(req.caller, req.body.ttl_seconds);
    return { token: t.token, expires_at: new Date(t.expiresAt).toISOString() };
  });
};
