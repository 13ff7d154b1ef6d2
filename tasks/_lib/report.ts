/** Writes a task's Markdown report, raw JSON and chart to `reports/`, plus `*-latest` copies. */
import { join } from "node:path";
import { REPO_ROOT } from "./server.ts";

/** What one run produced. */
export interface ReportParts {
  /** Builds the Markdown; `svgFile` is the chart's file name beside it, if any. */
  markdown: (svgFile?: string) => string;
  /** The raw results. */
  data: unknown;
  svg?: string;
}

/** Paths of the written files. */
export interface ReportFiles {
  markdown: string;
  json: string;
  svg?: string;
  latest: string;
}

/** `2026-11-21T10-13-13Z`: sortable and safe in file names. */
export function stamp(d = new Date()): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-");
}

/** Writes `<name>-<stamp>.{md,json,svg}` and `<name>-latest.{md,json,svg}` into `dir`. */
export async function writeReport(
  name: string,
  parts: ReportParts,
  dir = join(REPO_ROOT, "reports"),
): Promise<ReportFiles> {
  await Deno.mkdir(dir, { recursive: true });
  const files: ReportFiles = { markdown: "", json: "", latest: "" };
  for (const tag of [stamp(), "latest"]) {
    const base = join(dir, `${name}-${tag}`);
    const svgFile = parts.svg ? `${name}-${tag}.svg` : undefined;
    if (parts.svg) await Deno.writeTextFile(`${base}.svg`, parts.svg);
    await Deno.writeTextFile(`${base}.md`, parts.markdown(svgFile));
    await Deno.writeTextFile(
      `${base}.json`,
      JSON.stringify(parts.data, null, 2) + "\n",
    );
    if (tag === "latest") {
      files.latest = `${base}.md`;
    } else {
      Object.assign(files, {
        markdown: `${base}.md`,
        json: `${base}.json`,
        svg: parts.svg ? `${base}.svg` : undefined,
      });
    }
  }
  return files;
}

/** A Markdown table; numbers are right-aligned. */
export function mdTable(
  headers: string[],
  rows: (string | number)[][],
): string {
  const numeric = headers.map((_, i) =>
    rows.length > 0 && rows.every((r) => /^[\d.,% −-]*$/.test(String(r[i])))
  );
  const line = (cells: (string | number)[]) =>
    `| ${cells.map((c) => String(c).replace(/\|/g, "\\|")).join(" | ")} |`;
  return [
    line(headers),
    `|${numeric.map((n) => (n ? "---:" : "---")).join("|")}|`,
    ...rows.map(line),
  ].join("\n");
}

/** 12345 → "12,345". */
export function int(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Milliseconds with sensible precision. */
export function ms(n: number): string {
  return n >= 100 ? `${Math.round(n)}` : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** A share as a percentage with one decimal. */
export function pct(part: number, whole: number): string {
  return whole === 0 ? "0.0%" : `${((part / whole) * 100).toFixed(1)}%`;
}

/** Money with two decimals and thousands separators. */
export function money(n: number): string {
  return n.toLocaleString("en-US", {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  });
}

/** The machine the run happened on, for the report header. */
export function machine() {
  const mem = Deno.systemMemoryInfo();
  return {
    date: new Date().toISOString(),
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    cpus: navigator.hardwareConcurrency,
    memory_gib: Math.round((mem.total / 2 ** 30) * 10) / 10,
    deno: Deno.version.deno,
    loadavg: Deno.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

/** The report header: title, verdict, command, machine. */
export function header(
  title: string,
  info: {
    passed: boolean;
    command: string;
    target: string;
    /** Nothing but the task ran (no load generator, no server). */
    alone?: boolean;
  },
): string {
  const m = machine();
  return [
    `# ${title}`,
    "",
    `**Verdict: ${info.passed ? "PASS" : "FAIL"}**`,
    "",
    `- Date: ${m.date}`,
    `- Command: \`${info.command}\``,
    `- Target: ${info.target}`,
    `- Machine: ${m.os}, ${m.cpus} CPUs, ${m.memory_gib} GiB RAM, Deno ${m.deno}, load average ${
      m.loadavg.join(" / ")
    } at the end${
      info.alone ? "" : " (the load generator runs on the same machine)"
    }`,
    "",
  ].join("\n");
}

/** The command line that ran this task, for reports. */
export function commandLine(task: string, args: string[]): string {
  // Where the report was written is not part of what was measured.
  const shown = args.filter((a, i) =>
    !a.startsWith("--out") && args[i - 1] !== "--out"
  );
  return [`deno task ${task}`, ...shown].join(" ");
}
