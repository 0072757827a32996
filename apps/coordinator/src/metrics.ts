/**
 * `/metrics` through prom-client (Prometheus text format 0.0.4), one registry per coordinator: counters of
 * submissions, refusals, bytes and connections; histograms of the submission ack latency, the aggregation time (a
 * round's close to its stored global model) and the publication time (the last accepted submission to the stored
 * global model); gauges read at scrape time, among them the event-loop delay (`perf_hooks.monitorEventLoopDelay`,
 * since the start: p50, p99, max), the peak resident memory and the CPU time, which `npm run bench:load` reads.
 * The event-loop delay is also a histogram (`facmic_event_loop_interval_seconds`): the interval between ticks of a
 * 10 ms timer, counted in buckets, so that the delay over any window is the difference of two scrapes
 * (`histogram_quantile(0.99, rate(...[5m]))` in Prometheus; the load bench's p99 over its rounds). A quantile since
 * the start hides a stall after a long quiet run and is dominated by the start-up after a short one.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { FederationStatus } from '@facmic/protocol';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PublicationTimings } from './announcer.ts';

/** What the gauges show, read at each scrape. */
export interface MetricsSample {
  federations: Record<FederationStatus, number>;
  sitesOnline: number;
  sitesReady: number;
}

export interface MetricsOptions {
  version: string;
  protocolVersion: number;
  sample: () => MetricsSample;
}

/** Seconds: from a millisecond for an ack to a minute for a very large aggregation. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The loop-interval timer's period; an interval is this plus the time the loop was busy or blocked. */
export const LOOP_TICK_MS = 10;
/** Seconds between two ticks of the {@link LOOP_TICK_MS} timer: fine around the tick, coarse for stalls. */
const LOOP_INTERVAL_BUCKETS = [0.0105, 0.011, 0.0125, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10];

export type SubmissionResult = 'accepted' | 'duplicate' | 'refused';

export class CoordinatorMetrics {
  readonly registry = new Registry();
  readonly startedAt = Date.now();
  private readonly submissions: Counter;
  private readonly refusals: Counter<'code'>;
  private readonly bytesReceived: Counter;
  private readonly bytesSentTotal: Counter;
  private readonly published: Counter;
  private readonly connections: Counter<'namespace'>;
  private readonly ackSeconds: Histogram<'result'>;
  private readonly aggregationSeconds: Histogram;
  private readonly publicationSeconds: Histogram;
  private readonly loopTimer: NodeJS.Timeout;
  /** Event-loop delay since the start (10 ms resolution); disabled by {@link stop}. */
  readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor(options: MetricsOptions) {
    const registers = [this.registry];
    const loopDelay = this.loopDelay;
    loopDelay.enable();
    new Gauge({
      name: 'facmic_event_loop_delay_seconds',
      help: 'Event-loop delay since the start (perf_hooks.monitorEventLoopDelay, 10 ms resolution), by quantile; a blocked loop delays every site.',
      labelNames: ['quantile'],
      registers,
      collect() {
        if (loopDelay.count === 0) return;
        this.set({ quantile: '0.5' }, loopDelay.percentile(50) / 1e9);
        this.set({ quantile: '0.99' }, loopDelay.percentile(99) / 1e9);
        this.set({ quantile: '1' }, loopDelay.max / 1e9);
      },
    });
    new Gauge({ name: 'facmic_process_max_rss_bytes', help: 'Peak resident memory of the coordinator process.', registers, collect() { this.set(process.resourceUsage().maxRSS * 1024); } });
    new Gauge({
      name: 'facmic_process_cpu_seconds',
      help: 'CPU time of the coordinator process since the start, by mode.',
      labelNames: ['mode'],
      registers,
      collect() {
        const usage = process.cpuUsage();
        this.set({ mode: 'user' }, usage.user / 1e6);
        this.set({ mode: 'system' }, usage.system / 1e6);
      },
    });
    new Gauge({ name: 'facmic_build_info', help: 'Coordinator version and protocol version.', labelNames: ['version', 'protocol'], registers }).set(
      { version: options.version, protocol: String(options.protocolVersion) },
      1,
    );
    const startedAt = this.startedAt;
    new Gauge({
      name: 'facmic_uptime_seconds',
      help: 'Seconds since the coordinator started.',
      registers,
      collect() {
        this.set((Date.now() - startedAt) / 1000);
      },
    });
    const { sample } = options;
    new Gauge({
      name: 'facmic_federations',
      help: 'Federations by status.',
      labelNames: ['status'],
      registers,
      collect() {
        for (const [status, count] of Object.entries(sample().federations)) this.set({ status }, count);
      },
    });
    new Gauge({ name: 'facmic_sites_online', help: 'Sites connected now.', registers, collect() { this.set(sample().sitesOnline); } });
    new Gauge({ name: 'facmic_sites_ready', help: 'Connected sites ready to train.', registers, collect() { this.set(sample().sitesReady); } });
    this.submissions = new Counter({ name: 'facmic_submissions_accepted_total', help: 'Submissions accepted and stored.', registers });
    this.refusals = new Counter({ name: 'facmic_refusals_total', help: 'Requests refused, by error code (handshakes, socket messages, REST).', labelNames: ['code'], registers });
    this.bytesReceived = new Counter({ name: 'facmic_bytes_received_total', help: 'Bytes of accepted weight submissions.', registers });
    this.bytesSentTotal = new Counter({ name: 'facmic_bytes_sent_total', help: 'Bytes of models and features sent to sites.', registers });
    this.published = new Counter({ name: 'facmic_rounds_published_total', help: 'Global models published.', registers });
    this.connections = new Counter({ name: 'facmic_connections_total', help: 'Accepted Socket.IO connections, by namespace.', labelNames: ['namespace'], registers });
    this.ackSeconds = new Histogram({
      name: 'facmic_submission_ack_seconds',
      help: 'From receiving a round:submit to its acknowledgement (decode, check, store, add to the running aggregate), by result.',
      labelNames: ['result'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.aggregationSeconds = new Histogram({
      name: 'facmic_aggregation_seconds',
      help: "From a round's close to its stored global model (division, encoding, persistence).",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.publicationSeconds = new Histogram({
      name: 'facmic_publication_seconds',
      help: "From a round's last accepted submission to its stored global model (a paced round first waits for its shortest length).",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const loopInterval = new Histogram({
      name: 'facmic_event_loop_interval_seconds',
      help: `Interval between ticks of a ${LOOP_TICK_MS} ms timer on the event loop (the tick plus the delay); the difference of two scrapes gives the delay over that window.`,
      buckets: LOOP_INTERVAL_BUCKETS,
      registers,
    });
    let lastTick = performance.now();
    this.loopTimer = setInterval(() => {
      const now = performance.now();
      loopInterval.observe((now - lastTick) / 1000);
      lastTick = now;
    }, LOOP_TICK_MS);
    this.loopTimer.unref();
  }

  refused(code: string): void {
    this.refusals.inc({ code });
  }

  connected(namespace: 'site' | 'admin'): void {
    this.connections.inc({ namespace });
  }

  bytesSent(bytes: number): void {
    this.bytesSentTotal.inc(bytes);
  }

  /** A `round:submit` was answered after `ms` milliseconds. */
  submission(result: SubmissionResult, bytes: number, ms: number): void {
    this.ackSeconds.observe({ result }, ms / 1000);
    if (result !== 'accepted') return;
    this.submissions.inc();
    this.bytesReceived.inc(bytes);
  }

  roundPublished(timings: PublicationTimings): void {
    this.published.inc();
    this.aggregationSeconds.observe(timings.aggregationMs / 1000);
    if (timings.publicationMs !== null) this.publicationSeconds.observe(timings.publicationMs / 1000);
  }

  /** Stops the event-loop monitor (the coordinator closed). */
  stop(): void {
    this.loopDelay.disable();
    clearInterval(this.loopTimer);
  }

  /** The exposition text. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
