/**
 * Progress for long steps, on stderr, only when it is a terminal: a CI log or a
 * pipe gets no spinner noise.
 */
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface Task {
  /** Bytes or items done so far, with an optional new total. */
  update(done: number, total?: number): void;
  /** Replace the label (e.g. "compiling zstd-sys"). */
  label(text: string): void;
  end(): void;
}

export class Reporter {
  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    readonly interactive: boolean = Boolean(process.stderr.isTTY) && !process.env.CI,
  ) {}

  /** Starts a task line; `total` in bytes shows a percentage and sizes. */
  task(text: string, total?: number): Task {
    if (!this.interactive) return { update() {}, label() {}, end() {} };
    let done = 0;
    let frame = 0;
    let label = text;
    const started = Date.now();
    const draw = () => {
      const secs = ((Date.now() - started) / 1000).toFixed(0);
      const amount = total ? ` ${Math.min(100, Math.floor((done * 100) / total))}% of ${formatBytes(total)}` : '';
      const line = `${FRAMES[frame++ % FRAMES.length]} ${label}${amount} (${secs}s)`;
      this.stream.write(`\r\x1b[2K${line.slice(0, (this.stream.columns || 80) - 1)}`);
    };
    const timer = setInterval(draw, 100);
    timer.unref();
    return {
      update(d, t) {
        done = d;
        if (t !== undefined) total = t;
      },
      label(t) {
        label = t;
      },
      end: () => {
        clearInterval(timer);
        this.stream.write('\r\x1b[2K');
      },
    };
  }

  /** A line of its own, shown on terminals only. */
  note(text: string): void {
    if (this.interactive) this.stream.write(`${text}\n`);
  }

  /** Something done on the user's behalf (a Rust target added): always shown. */
  say(text: string): void {
    this.stream.write(`pyseal: ${text}\n`);
  }

  /** Something the user should know about the result (a fallback taken): always shown. */
  warn(text: string): void {
    this.stream.write(`warning: ${text}\n`);
  }
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = n / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
