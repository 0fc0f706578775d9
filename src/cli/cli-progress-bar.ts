import cliProgress from 'cli-progress';

/** Long work's progress on stderr: a bar with rate, count and time left on a terminal, nothing otherwise (a final note says what was done). */
export interface ProgressBar {
  update(done: number, payload: { events: number }): void;
  stop(): void;
}

/**
 * A progress bar over `total` units of work (positions of the log, bytes of a file). Only on a
 * terminal: piped output and scripts get no escape codes.
 */
export function progressBar(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  if (!stream.isTTY || total <= 0) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {events} events | {rate} events/s | {duration_formatted} elapsed, {eta_formatted} left`, stream, hideCursor: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  bar.start(total, 0, { events: 0, rate: 0 });
  return {
    update: (done, { events }) => bar.update(Math.min(done, total), { events, rate: Math.round((events * 1000) / Math.max(1, Date.now() - started)) }),
    stop: () => bar.stop(),
  };
}
