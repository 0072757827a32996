/** Counters for `/metrics` (Prometheus text exposition format 0.0.4). */
import type { FederationStatus } from '@facmic/protocol';

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

export class CoordinatorMetrics {
  private readonly counters = new Map<string, Map<string, { labels: Labels; value: number }>>();
  private readonly help = new Map<string, string>();
  readonly startedAt = Date.now();

  constructor() {
    this.describe('facmic_submissions_accepted_total', 'Submissions accepted and stored.');
    this.describe('facmic_refusals_total', 'Requests refused, by error code (handshakes, socket messages, REST).');
    this.describe('facmic_bytes_received_total', 'Bytes of accepted weight submissions.');
    this.describe('facmic_bytes_sent_total', 'Bytes of models and features sent to sites.');
    this.describe('facmic_rounds_published_total', 'Global models published.');
    this.describe('facmic_aggregation_seconds_sum', 'Total coordinator time spent aggregating (last submission to publication).');
    this.describe('facmic_aggregation_seconds_count', 'Number of aggregations.');
    this.describe('facmic_connections_total', 'Accepted Socket.IO connections, by namespace.');
  }

  private describe(name: string, help: string): void {
    this.help.set(name, help);
    this.counters.set(name, new Map());
  }

  add(name: string, value = 1, labels: Labels = {}): void {
    let series = this.counters.get(name);
    if (!series) {
      series = new Map();
      this.counters.set(name, series);
    }
    const key = JSON.stringify(labels);
    const entry = series.get(key);
    if (entry) entry.value += value;
    else series.set(key, { labels, value });
  }

  refused(code: string): void {
    this.add('facmic_refusals_total', 1, { code });
  }

  value(name: string, labels: Labels = {}): number {
    return this.counters.get(name)?.get(JSON.stringify(labels))?.value ?? 0;
  }

  /** The exposition text, with gauges computed by the caller at scrape time. */
  render(gauges: { federations: Record<FederationStatus, number>; sitesOnline: number; sitesReady: number; version: string; protocolVersion: number }): string {
    const lines: string[] = [];
    lines.push('# HELP facmic_build_info Coordinator version and protocol version.', '# TYPE facmic_build_info gauge');
    lines.push(`facmic_build_info${labelText({ version: gauges.version, protocol: String(gauges.protocolVersion) })} 1`);
    lines.push('# HELP facmic_uptime_seconds Seconds since the coordinator started.', '# TYPE facmic_uptime_seconds gauge');
    lines.push(`facmic_uptime_seconds ${((Date.now() - this.startedAt) / 1000).toFixed(3)}`);
    lines.push('# HELP facmic_federations Federations by status.', '# TYPE facmic_federations gauge');
    for (const [status, count] of Object.entries(gauges.federations)) lines.push(`facmic_federations${labelText({ status })} ${count}`);
    lines.push('# HELP facmic_sites_online Sites connected now.', '# TYPE facmic_sites_online gauge', `facmic_sites_online ${gauges.sitesOnline}`);
    lines.push('# HELP facmic_sites_ready Connected sites ready to train.', '# TYPE facmic_sites_ready gauge', `facmic_sites_ready ${gauges.sitesReady}`);
    for (const [name, series] of this.counters) {
      const type = name.endsWith('_sum') || name.endsWith('_count') ? 'counter' : 'counter';
      lines.push(`# HELP ${name} ${this.help.get(name) ?? name}`, `# TYPE ${name} ${type}`);
      if (series.size === 0) lines.push(`${name} 0`);
      for (const { labels, value } of series.values()) lines.push(`${name}${labelText(labels)} ${value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
