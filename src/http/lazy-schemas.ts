/**
 * Route schemas compiled on a route's first use instead of at start-up. Fastify compiles every
 * route's validators (Ajv) and response serializers (fast-json-stringify) while the routes are
 * registered: about a quarter of the time from start to /health, for ~100 routes of which a
 * process may never serve most. These factories are Fastify's own, with the same options; only
 * the moment of compiling moves — to the route's first request, which pays a few milliseconds.
 *
 * The schemas are constants of the code, and the tests send every route a request
 * (test/http/generated.test.ts), so a schema that would not compile still fails the tests.
 */
import { createRequire } from 'node:module';
import type ajvCompiler from '@fastify/ajv-compiler';
import type { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

// The compilers' own modules load with the first schema too (Ajv alone is ~60 ms of a one-second
// start), synchronously: Fastify asks for a compiled function in the middle of a request.
const require = createRequire(import.meta.url);

/** Fastify's compiler factories: options in, a compiler (route in, compiled function out) back. */
type Factory = (...args: never[]) => (route: never) => unknown;
/** A compiled validator or serializer: Ajv's also reports `errors` on itself. */
type Compiled = ((...args: unknown[]) => unknown) & { errors?: unknown };

/**
 * A function that compiles on its first call and then forwards to what it compiled. Ajv's
 * `errors` are copied after each call (Fastify reads them from the function it called), and
 * `schemaEnv` is set so that Fastify passes the parent of the value, as it does to Ajv itself.
 */
function compiledOnFirstCall(compile: () => Compiled, isValidator: boolean): Compiled {
  let fn: Compiled | undefined;
  const run: Compiled = (...args: unknown[]) => {
    fn ??= compile();
    const out = fn(...args);
    if (isValidator) run.errors = fn.errors;
    return out;
  };
  if (isValidator) Object.assign(run, { schemaEnv: true });
  return run;
}

/**
 * Wraps a Fastify compiler factory, loaded by `load` on first use and shared from then on (as one
 * factory instance is by default): the compiler itself is built on first use, each schema too.
 */
function deferred<F extends Factory>(load: () => F, isValidator: boolean): { factory: F; load: () => F } {
  let loaded: F | undefined;
  const once = () => (loaded ??= load());
  const factory = ((...factoryArgs: unknown[]) => {
    let compiler: ((route: unknown) => Compiled) | undefined;
    return (route: unknown) => compiledOnFirstCall(() => {
      compiler ??= (once() as unknown as (...a: unknown[]) => (route: unknown) => Compiled)(...factoryArgs);
      return compiler(route);
    }, isValidator);
  }) as unknown as F;
  return { factory, load: once };
}

const validators = deferred(() => (require('@fastify/ajv-compiler') as typeof ajvCompiler)(), true);
const serializers = deferred(() => (require('@fastify/fast-json-stringify-compiler') as { SerializerSelector: typeof SerializerSelector }).SerializerSelector(), false);

/** Fastify's `schemaController.compilersFactory`, lazily. */
export const lazyCompilers = { buildValidator: validators.factory, buildSerializer: serializers.factory };

/** Loads the compilers ahead of the first schema (once the service is up, so no request pays it). */
export function loadCompilers(): void {
  validators.load();
  serializers.load();
}
