import type { BenchRow } from './bench-row.js';

/** A target of issues 2 and 5, checked on the figures of one run. */
export interface TargetCheck {
  target: string;
  value?: number;
  met?: boolean;
}

function find(rows: BenchRow[], scenario: string, backend: string, system: string): BenchRow | undefined {
  return rows.find((r) => r.scenario === scenario && r.backend === backend && r.system === system);
}

/** factum vs raw (>= 0.9, or 0.7 for the import) and vs Emmett and Castore (>= 2) where the issues set a target. */
export function checkTargets(rows: BenchRow[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  for (const scenario of scenarios) {
    const n = Number.parseInt(scenario, 10);
    if (!(n >= 1 && n <= 6)) continue;
    for (const backend of ['postgres', 'pglite'] as const) {
      const factum = find(rows, scenario, backend, 'factum');
      if (!factum) continue;
      if (n !== 3) {
        const bound = n === 6 ? 0.7 : 0.9;
        const value = factum.ratioToRaw;
        checks.push({ target: `${scenario} (${backend}): factum/raw >= ${bound}`, ...(value !== undefined ? { value, met: value >= bound } : {}) });
      }
      if (n <= 3 && backend === 'postgres') {
        for (const peer of ['emmett', 'castore']) {
          const other = find(rows, scenario, backend, peer);
          const value = factum.median !== undefined && other?.median ? factum.median / other.median : undefined;
          checks.push({ target: `${scenario} (${backend}): factum/${peer} >= 2`, ...(value !== undefined ? { value, met: value >= 2 } : {}) });
        }
      }
    }
  }
  return checks;
}

/** Thousands separators for big figures, two significant decimals for small ones (latencies in ms). */
const fmtValue = (n: number) =>
  n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 10 ? n.toFixed(1) : n.toFixed(2);

function notes(row: BenchRow): string {
  const parts = Object.entries(row.extra ?? {}).map(([k, v]) => `${k}: ${v}`);
  if (row.note) parts.push(row.note);
  return parts.join('; ');
}

/** The table rows as strings: scenario, backend, system, result, spread, vs raw, rounds, notes. */
function cells(rows: BenchRow[]): string[][] {
  return rows.map((r) => [
    r.scenario,
    r.backend,
    r.system,
    r.median === undefined ? '—' : `${fmtValue(r.median)} ${r.unit}`,
    r.spread === undefined ? '' : `±${((r.spread * 100) / 2).toFixed(0)}%`,
    r.ratioToRaw === undefined ? '' : r.ratioToRaw.toFixed(2),
    r.samples ? String(r.samples.length) : '',
    notes(r),
  ]);
}

const HEADER = ['Scenario', 'Backend', 'System', 'Median', 'Spread', 'vs raw', 'Rounds', 'Notes'];

/** A plain-text table for the terminal. */
export function textTable(rows: BenchRow[]): string {
  const table = [HEADER, ...cells(rows)];
  const widths = HEADER.map((_, i) => Math.min(i === 7 ? 200 : 60, Math.max(...table.map((row) => row[i]!.length))));
  const line = (row: string[]) => row.map((c, i) => (i === 3 || i === 5 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1).map(line)].join('\n');
}

export function targetLines(checks: TargetCheck[]): string[] {
  return checks.map((c) => `${c.met === undefined ? '?' : c.met ? 'met' : 'MISSED'}  ${c.target}${c.value !== undefined ? `: ${c.value.toFixed(2)}` : ': not measured'}`);
}

/** The Markdown page the README links to. */
export function markdown(rows: BenchRow[], checks: TargetCheck[], meta: Record<string, unknown>, method: string[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out: string[] = [];
  out.push('# factum benchmarks', '');
  out.push(`Run of ${String(meta.date)} (${meta.quick ? '`--quick`: smoke run, figures not meaningful' : 'full run'}), produced by \`npm run bench\`; raw data in [latest.json](latest.json).`, '');
  out.push('## Machine', '');
  for (const [key, value] of Object.entries(meta.machine as Record<string, unknown>)) out.push(`- ${key}: ${String(value)}`);
  out.push('', '## Method', '');
  for (const line of method) out.push(`- ${line}`);
  out.push('', '## Results', '');
  out.push(`| ${HEADER.join(' | ')} |`, `| ${HEADER.map((_, i) => (i === 3 || i === 5 ? '---:' : '---')).join(' | ')} |`);
  for (const row of cells(rows)) out.push(`| ${row.map(esc).join(' | ')} |`);
  out.push('', '## Targets (issues 2 and 5)', '');
  for (const line of targetLines(checks)) out.push(`- ${line}`);
  out.push('');
  return out.join('\n');
}
