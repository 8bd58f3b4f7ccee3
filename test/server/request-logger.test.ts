// Request loggers are made only when a line is written: what is written must not change.
import pino from 'pino';
import t from 'tap';
import { deferredChildLogger } from '../../src/http/request-logger.ts';

function logger(level: string) {
  const lines: Record<string, unknown>[] = [];
  const parent = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const child = deferredChildLogger.call(null as never, parent, { reqId: 'req-7' }, {}, {} as never);
  return { parent, child, lines };
}

t.test('below the level nothing is written; at it, the line carries the request id', async (t) => {
  const { child, lines } = logger('warn');
  child.info('incoming request');
  child.debug({ detail: 1 }, 'detail');
  t.same(lines, [], 'info and debug are dropped at warn');
  child.warn({ code: 'E1' }, 'slow');
  child.error(new Error('broken'));
  t.equal(lines.length, 2);
  t.match(lines[0], { reqId: 'req-7', code: 'E1', msg: 'slow', level: 40 });
  t.match(lines[1], { reqId: 'req-7', level: 50, err: { message: 'broken' } });
});

t.test('a level raised after the request began is honoured', async (t) => {
  const { parent, child, lines } = logger('warn');
  parent.level = 'info';
  child.info('now visible');
  t.match(lines, [{ reqId: 'req-7', msg: 'now visible' }]);
  t.equal(child.level, 'info');
});

t.test('bindings and children include the request id', async (t) => {
  const { child, lines } = logger('info');
  t.match((child as unknown as { bindings(): object }).bindings(), { reqId: 'req-7' });
  child.child({ part: 'upload' }).info('nested');
  t.match(lines, [{ reqId: 'req-7', part: 'upload', msg: 'nested' }]);
});

t.test('a route with its own level, or a logger that is not pino, gets an ordinary child', async (t) => {
  const { parent } = logger('warn');
  const routeChild = deferredChildLogger.call(null as never, parent, { reqId: 'req-8' }, { level: 'debug' }, {} as never);
  t.equal(routeChild.level, 'debug');
  const noop = { info() {}, error() {}, debug() {}, fatal() {}, warn() {}, trace() {}, child: () => noop, level: 'info' };
  t.equal(deferredChildLogger.call(null as never, noop as never, { reqId: 'x' }, {}, {} as never), noop);
});
