// node-schedule jobs that wake the worker at each cron occurrence of the active configuration's scheduled
// journeys, in the project time zone. They carry no state: the durable record of an occurrence is its
// entry_sweeps row, which the woken worker creates (and which any other replica may create first).
import schedule from 'node-schedule';
import type { ProjectLoader } from './projects.js';

export interface CronWaker {
  /** Re-reads the active configuration and reschedules if its version changed. */
  update(): Promise<void>;
  stop(): void;
}

export function startCronWaker(projects: ProjectLoader, wake: () => void): CronWaker {
  let version: string | undefined;
  let jobs: schedule.Job[] = [];
  const cancel = () => {
    for (const job of jobs) job.cancel();
    jobs = [];
  };
  let stopped = false;
  const update = async () => {
    if (stopped) return;
    const active = await projects.active();
    if (active?.version === version) return;
    cancel();
    version = active?.version;
    if (!active) return;
    for (const journey of active.project.journeys.values()) {
      if (journey.entry.kind !== 'schedule') continue;
      const job = schedule.scheduleJob({ rule: journey.entry.cron, tz: active.project.settings.timezone }, wake);
      if (job) jobs.push(job);
    }
  };
  void update().catch(() => undefined);
  return {
    update,
    stop() {
      stopped = true;
      cancel();
    },
  };
}
