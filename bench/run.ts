/**
 * `npm run bench [-- subject...]`: runs every benchmark subject module found next to this file (compiled
 * dist/bench/*.js other than run and harness; each exports `run(): Promise<BenchResult[]>`), writes
 * bench/results/<subject>.json and bench/results/summary.json under the project root, and prints a table.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatTable, projectRoot, type BenchResult } from './harness.js';

const NOT_SUBJECTS = new Set(['run', 'harness']);

/** Names of the subject modules next to this file. */
export function discoverSubjects(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .map((f) => basename(f, '.js'))
    .filter((n) => !NOT_SUBJECTS.has(n))
    .sort();
}

interface Summary {
  generated: string;
  node: string;
  subjects: Record<string, { generated: string; results: BenchResult[]; error?: string }>;
}

async function main(argv: string[]): Promise<number> {
  const here = dirname(fileURLToPath(import.meta.url));
  const all = discoverSubjects(here);
  const wanted = argv.filter((a) => !a.startsWith('-'));
  const unknown = wanted.filter((w) => !all.includes(w));
  if (unknown.length) {
    process.stderr.write(`error: unknown bench subject(s): ${unknown.join(', ')} (have: ${all.join(', ')})\n`);
    return 2;
  }
  const subjects = wanted.length ? wanted : all;
  const outDir = join(projectRoot(), 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const summaryPath = join(outDir, 'summary.json');
  let summary: Summary = { generated: '', node: process.version, subjects: {} };
  try {
    summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as Summary;
    summary.subjects ??= {};
  } catch {
    // no previous summary
  }
  let failed = 0;
  const everything: BenchResult[] = [];
  for (const name of subjects) {
    process.stderr.write(`bench: ${name}...\n`);
    const when = new Date().toISOString();
    try {
      const mod = (await import(pathToFileURL(join(here, `${name}.js`)).href)) as { run?: () => Promise<BenchResult[]> };
      if (typeof mod.run !== 'function') {
        process.stderr.write(`bench: ${name} exports no run(); not a subject, skipped\n`);
        continue;
      }
      const results = await mod.run();
      writeFileSync(join(outDir, `${name}.json`), JSON.stringify({ subject: name, generated: when, node: process.version, results }, null, 2) + '\n');
      summary.subjects[name] = { generated: when, results };
      everything.push(...results);
    } catch (e) {
      failed++;
      const msg = (e as Error)?.message ?? String(e);
      process.stderr.write(`bench: ${name} failed: ${msg}\n`);
      summary.subjects[name] = { generated: when, results: [], error: msg };
    }
  }
  summary.generated = new Date().toISOString();
  summary.node = process.version;
  writeFileSync(summaryPath, JSON.stringify(summary, null, 2) + '\n');
  process.stdout.write(formatTable(everything) + '\n');
  process.stdout.write(`\nresults: ${outDir}\n`);
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`error: ${(e as Error)?.stack ?? e}\n`);
    process.exitCode = 1;
  },
);
