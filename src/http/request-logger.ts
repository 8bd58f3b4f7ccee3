// Fastify gives every request a child logger (its reqId bound), whatever the level: pino
// builds the child's bindings each time, ~15 µs of a request that logs nothing at `warn`
// (docs/benchmarks.md, the floor). The child here is made on the first line actually written.
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type Bindings = Record<string, unknown>;
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];

class DeferredChildLogger {
  #child: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly ownBindings: Bindings,
    private readonly options: ChildOptions,
  ) {}

  private get real(): Logger {
    return (this.#child ??= this.parent.child(this.ownBindings, this.options));
  }

  private write(level: Level, args: unknown[]): void {
    if ((this.#child ?? this.parent).isLevelEnabled(level)) (this.real[level] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return (this.#child ?? this.parent).level;
  }
  set level(level: string) {
    this.real.level = level;
  }
  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.parent).isLevelEnabled(level);
  }
  fatal(...args: unknown[]) {
    this.write('fatal', args);
  }
  error(...args: unknown[]) {
    this.write('error', args);
  }
  warn(...args: unknown[]) {
    this.write('warn', args);
  }
  info(...args: unknown[]) {
    this.write('info', args);
  }
  debug(...args: unknown[]) {
    this.write('debug', args);
  }
  trace(...args: unknown[]) {
    this.write('trace', args);
  }
  silent() {}
  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }
  bindings(): Bindings {
    return this.#child ? this.#child.bindings() : { ...this.parent.bindings(), ...this.ownBindings };
  }
}

/**
 * Fastify's `childLoggerFactory`. A route with its own log level gets its child at once, and
 * so does a logger that is not pino (`logger: false` gives fastify's no-op logger).
 */
export const deferredChildLogger: NonNullable<FastifyServerOptions['childLoggerFactory']> = (logger, bindings, options) =>
  options?.level || typeof (logger as Partial<Logger>).isLevelEnabled !== 'function'
    ? logger.child(bindings, options)
    : (new DeferredChildLogger(logger as Logger, bindings, options) as unknown as FastifyBaseLogger);
