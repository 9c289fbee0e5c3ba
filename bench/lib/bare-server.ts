/**
 * The baselines of the delete benchmark, each run as a process of its own (`node
 * bare-server.js <kind>`), so none shares an event loop with the load generator:
 *
 * - `canned`: a TCP server that answers every request head with the same bytes, parsing nothing;
 *   what the load generator reaches against it is the generator's own ceiling.
 * - `http`: bare node:http answering the service's 200 body to whatever it is sent.
 * - `fastify`: bare Fastify with the service's route shape (the same path parameters and schema,
 *   the same JSON answer through a response schema), to show the framework's own share.
 *
 * Prints `listening on http://…` like the service, which is what the parent waits for.
 */
import http from 'node:http';
import net from 'node:net';
import Fastify from 'fastify';

const BODY = JSON.stringify({ message: '' });
const ROUTE = '/v2/:project_id/instances/:instance_id/tasks/:task_id';

function canned(): net.Server {
  const answer = Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${BODY.length}\r\n\r\n${BODY}`);
  // The benchmark's DELETEs carry no body, so one request ends at each blank line.
  return net.createServer((socket) => {
    let tail = '';
    socket.on('data', (chunk) => {
      const text = tail + chunk.toString('latin1');
      const heads = text.split('\r\n\r\n');
      tail = heads.pop()!;
      for (let k = 0; k < heads.length; k++) socket.write(answer);
    });
    socket.on('error', () => socket.destroy());
  });
}

function bareHttp(): http.Server {
  return http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) });
      res.end(BODY);
    });
  });
}

async function bareFastify(): Promise<http.Server> {
  const app = Fastify({ logger: false });
  const id = { type: 'string', minLength: 1, maxLength: 64 };
  // Like the service: a bodiless DELETE sent with Content-Type: application/json (as the SDKs
  // send it) has no body, where Fastify's own JSON parser would refuse it with a 400.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, body === '' ? undefined : JSON.parse(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.delete(ROUTE, {
    schema: {
      params: { type: 'object', required: ['project_id', 'instance_id', 'task_id'], properties: { project_id: id, instance_id: id, task_id: id } },
      response: { 200: { type: 'object', required: ['message'], properties: { message: { type: 'string' } } } },
    },
  }, async () => ({ message: '' }));
  await app.ready();
  return app.server;
}

const kind = process.argv[2];
const server = kind === 'canned' ? canned() : kind === 'http' ? bareHttp() : kind === 'fastify' ? await bareFastify() : null;
if (!server) throw new Error(`unknown server kind ${kind}: canned | http | fastify`);
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as net.AddressInfo;
  console.log(`listening on http://127.0.0.1:${port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
