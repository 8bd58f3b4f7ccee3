// The hashing queue's fair share: one client flooding it waits behind its own jobs, not in
// front of everyone else's, and cannot queue without bound.
import t from 'tap';
import { FairQueue, QueueFullError } from '../../src/auth/fair-queue.ts';

/** Jobs that finish only when told to, recording the order in which they started. */
function gatedJobs() {
  const started: string[] = [];
  const gates: Array<() => void> = [];
  const job = (name: string) => () =>
    new Promise<string>((resolve) => {
      started.push(name);
      gates.push(() => resolve(name));
    });
  /** Finishes the oldest running job and lets the queue start the next. */
  const finishOne = async () => {
    gates.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
  };
  /** Finishes every job, the ones still waiting included. */
  const drain = async () => {
    while (gates.length > 0) await finishOne();
  };
  return { started, job, finishOne, drain };
}

for (const concurrency of [1, 2, 3]) {
  t.test(`a flooding client does not delay another one's job (${concurrency} slots)`, async (t) => {
    const queue = new FairQueue(concurrency, 1000);
    const { started, job, finishOne, drain } = gatedJobs();
    const flood = Array.from({ length: 100 }, (_, i) => queue.run('127.0.0.2', job(`flood ${i}`)));
    const other = queue.run('127.0.0.3', job('other'));
    t.equal(started.length, concurrency, 'the flood took the free slots first');
    await finishOne();
    t.equal(started.at(-1), 'other', "the next free slot goes to the other client, not after the flood's 100 jobs");
    await drain();
    t.equal(await other, 'other', 'its result comes back');
    t.equal((await Promise.all(flood)).length, 100, 'every flooding job ran in the end');
  });
}

t.test('each client gets its share of the slots', async (t) => {
  const queue = new FairQueue(4, 1000);
  const { started, job, finishOne, drain } = gatedJobs();
  const jobs = Array.from({ length: 20 }, (_, i) => queue.run('a', job(`a${i}`)));
  jobs.push(...Array.from({ length: 5 }, (_, i) => queue.run('b', job(`b${i}`))));
  t.same(started, ['a0', 'a1', 'a2', 'a3'], 'alone, one client may use every slot');
  await finishOne();
  await finishOne();
  t.same(started.slice(4), ['b0', 'b1'], 'the two freed slots go to the other client, up to half of them');
  await finishOne();
  t.equal(started.at(-1), 'a4', 'at its share, the other client waits its turn');
  await drain();
  t.equal((await Promise.all(jobs)).length, 25);
});

t.test("a client's waiting jobs are bounded; others are still accepted", async (t) => {
  const queue = new FairQueue(1, 3);
  const { started, job, drain } = gatedJobs();
  const accepted = Array.from({ length: 4 }, (_, i) => queue.run('a', job(`a${i}`)));
  await t.rejects(queue.run('a', job('a-over')), QueueFullError, 'one running and three waiting: the fifth is refused');
  const other = queue.run('b', job('b0'));
  t.equal(queue.pending, 4, 'the other client still queues');
  await drain();
  t.same(await Promise.all(accepted), ['a0', 'a1', 'a2', 'a3']);
  t.equal(await other, 'b0');
  t.notOk(started.includes('a-over'), 'the refused job never ran');
});

t.test('a failing job frees its slot and rejects its caller only', async (t) => {
  const queue = new FairQueue(1, 10);
  const failing = queue.run('a', async () => {
    throw new Error('hash failed');
  });
  const next = queue.run('a', async () => 'next');
  await t.rejects(failing, { message: 'hash failed' });
  t.equal(await next, 'next');
});
