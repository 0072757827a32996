/**
 * The site's phase and progress: every change is a `status` event for the UI; the coordinator (and so the dashboard)
 * gets phase changes at once and progress at most every `intervalMs`.
 */
import type { SiteStatusEvent } from './events.ts';

export class StatusReporter {
  private status: SiteStatusEvent = { phase: 'connecting', progress: null, round: null, message: null };
  private lastSentAt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly show: (status: SiteStatusEvent) => void,
    /** Sends to the coordinator; returns false when it could not (not connected). */
    private readonly send: (status: SiteStatusEvent) => boolean,
    private readonly intervalMs: number,
  ) {}

  get current(): SiteStatusEvent {
    return this.status;
  }

  set(status: SiteStatusEvent): void {
    const phaseChanged = status.phase !== this.status.phase || status.round !== this.status.round;
    this.status = status;
    this.show(status);
    const now = Date.now();
    if (phaseChanged || now - this.lastSentAt >= this.intervalMs) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.intervalMs - (now - this.lastSentAt));
  }

  private flush(): void {
    if (this.send(this.status)) this.lastSentAt = Date.now();
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
