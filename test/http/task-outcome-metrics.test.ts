/**
 * The task duration metric keeps the start of each task this process runs, and forgets it once
 * the engine releases the task: a task lost to another node is not kept for ever, and one run
 * here again later counts from then.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TaskOutcomeMetrics } from '../../src/http/metrics.js';

const op = { name: 'flushInstance', steps: [{ name: 'flush', run: async (_: { task: { id: string } }) => {} }] };

async function durationsObserved(m: TaskOutcomeMetrics): Promise<number> {
  const values = (await m.duration.get()).values;
  return values.filter((v) => (v.metricName ?? '').endsWith('_count')).reduce((a, v) => a + v.value, 0);
}

test('a finished task is observed from its first step; a released one is forgotten', async () => {
  const m = new TaskOutcomeMetrics();
  const observed = m.observe(op);
  await observed.steps[0]!.run({ task: { id: 'kept' } });
  m.finished({ id: 'kept', name: op.name }, 'SUCCESS', null);
  m.released('kept');
  assert.equal(await durationsObserved(m), 1);

  await observed.steps[0]!.run({ task: { id: 'lost' } });
  m.released('lost'); // its lease went to another node
  m.finished({ id: 'lost', name: op.name }, 'SUCCESS', null); // were it reported here after all: no start known
  assert.equal(await durationsObserved(m), 1, 'no duration for a task whose start was forgotten');
});
