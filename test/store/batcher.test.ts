/**
 * The PostgreSQL store's Batcher (creates, step updates, finishes and deletes in flight go in one
 * statement): what it promises its callers, checked on its own — which requests share a statement,
 * that each gets its own answer, and which failures are retried.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batcher } from '../../src/store/postgres/batcher.js';

/** A run function whose statements the test ends by hand. */
function manualRuns() {
  const batches: { keys: string[]; finish: (e?: unknown) => void }[] = [];
  const run = (reqs: { key: string }[]) => new Promise<(string | Promise<string>)[]>((resolve, reject) => {
    batches.push({ keys: reqs.map((r) => r.key), finish: (e) => (e ? reject(e) : resolve(reqs.map((r) => `done ${r.key}`))) });
  });
  return { batches, run };
}

test('requests that arrive while a statement is in flight go together in the next one, each answered', async () => {
  const { batches, run } = manualRuns();
  const b = new Batcher<{ key: string }, string>((r) => r.key, run);
  const first = b.submit({ key: 'a' });
  const rest = ['b', 'c', 'd'].map((key) => b.submit({ key }));
  assert.deepEqual(batches.map((x) => x.keys), [['a']]); // one statement in flight
  batches[0]!.finish();
  assert.equal(await first, 'done a');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(batches.map((x) => x.keys), [['a'], ['b', 'c', 'd']]);
  batches[1]!.finish();
  assert.deepEqual(await Promise.all(rest), ['done b', 'done c', 'done d']);
});

test('a key already in a batch waits for the next statement', async () => {
  const { batches, run } = manualRuns();
  const b = new Batcher<{ key: string }, string>((r) => r.key, run);
  const p1 = b.submit({ key: 'x' });
  batches[0]!.finish();
  const p2 = b.submit({ key: 'y' });
  const p3 = b.submit({ key: 'y' });
  await p1;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(batches.map((x) => x.keys), [['x'], ['y']]);
  batches[1]!.finish();
  await p2;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(batches.map((x) => x.keys), [['x'], ['y'], ['y']]);
  batches[2]!.finish();
  assert.equal(await p3, 'done y');
});

test('a follow-up that fails fails its own request only', async () => {
  const b = new Batcher<string, string>((r) => r, async (reqs) => reqs.map((r) => (r === 'bad' ? Promise.reject(new Error('follow-up failed')) : r)));
  const [good, bad] = [b.submit('good'), b.submit('bad')];
  assert.equal(await good, 'good');
  await assert.rejects(bad, /follow-up failed/);
});

test('a deadlocked statement runs again; any other error fails the requests it carried', async () => {
  let calls = 0;
  const deadlocking = new Batcher<string, string>((r) => r, async (reqs) => {
    calls += 1;
    if (calls < 3) throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
    return reqs;
  });
  assert.deepEqual(await Promise.all([deadlocking.submit('a'), deadlocking.submit('b')]), ['a', 'b']);
  assert.equal(calls, 4); // 'a' alone: two deadlocks, then through; then 'b', queued meanwhile

  const failing = new Batcher<string, string>((r) => r, async () => {
    throw Object.assign(new Error('unique violation'), { code: '23505' });
  });
  const results = await Promise.allSettled([failing.submit('a'), failing.submit('b')]);
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
});
