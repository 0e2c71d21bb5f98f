/**
 * Reads a callgrind dump for bench:instructions: the totals per event, and the self cost of every function, with
 * V8's compiled code named from the process's perf map (`--perf-basic-prof`: callgrind sees generated code only
 * as addresses). Written here because callgrind_annotate names generated code by address and knows nothing of
 * a perf map, and the question asked of a dump is "which functions cost the guard its extra misses".
 */
import { readFileSync } from 'node:fs';

/** Self cost of one function (or of all code of one name), in callgrind's events. */
export type Costs = Map<string, number>;

export interface Dump {
  /** Every event over the whole dump (the `totals:` line). */
  readonly totals: Costs;
  /** Self cost by function name; generated code of one name (recompiled, or at several addresses) is summed. */
  readonly functions: Map<string, Costs>;
}

interface PerfEntry {
  readonly start: number;
  readonly end: number;
  readonly name: string;
}

/**
 * The perf map's entries, latest first: V8 appends one per code object it creates, and an address freed by
 * the garbage collector may later hold other code, so the latest entry covering an address names what ran there.
 */
function readPerfMap(text: string): PerfEntry[] {
  const entries: PerfEntry[] = [];
  for (const line of text.split('\n')) {
    const [start, size, ...name] = line.split(' ');
    if (start === undefined || size === undefined || name.length === 0) continue;
    const from = Number.parseInt(start, 16);
    entries.push({ start: from, end: from + Number.parseInt(size, 16), name: name.join(' ') });
  }
  return entries.reverse();
}

/** How a function reads in a report: V8's name with this checkout's path (and `file://`) left off. */
function shortName(name: string, root: string): string {
  return name.replaceAll(`file://${root}/`, '').replaceAll(`${root}/`, '');
}

/**
 * The dump's totals and self cost per function. The format names a function in full once (`fn=(7) name`) and
 * by its number after that; a cost line after `calls=` is the inclusive cost of that call, not the caller's
 * own, and is skipped. Generated code is named `0x…` (with `'2` and so on for recursion depth).
 */
export function readDump(file: string, perfMap: string | null, root: string): Dump {
  const perf = perfMap === null ? [] : readPerfMap(perfMap);
  const jitNames = new Map<string, string>();
  const nameOf = (raw: string): string => {
    const address = /^0x([0-9a-f]+)/.exec(raw);
    if (address === null) return raw;
    let named = jitNames.get(address[1]!);
    if (named === undefined) {
      const at = Number.parseInt(address[1]!, 16);
      const entry = perf.find((candidate) => candidate.start <= at && at < candidate.end);
      named = entry === undefined ? 'generated code without a perf map entry' : shortName(entry.name, root);
      jitNames.set(address[1]!, named);
    }
    return named;
  };
  const names = new Map<string, string>();
  const functions = new Map<string, Costs>();
  const totals: Costs = new Map();
  let events: string[] = [];
  let current: Costs | undefined;
  let afterCall = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('fn=')) {
      const named = /^fn=\((\d+)\)(?: (.*))?$/.exec(line);
      let raw = line.slice(3);
      if (named !== null) {
        if (named[2] !== undefined) names.set(named[1]!, named[2]);
        raw = names.get(named[1]!) ?? '';
      }
      const name = nameOf(raw);
      current = functions.get(name);
      if (current === undefined) functions.set(name, (current = new Map()));
    } else if (line.startsWith('cfn=')) {
      const named = /^cfn=\((\d+)\) (.*)$/.exec(line);
      if (named !== null) names.set(named[1]!, named[2]!);
    } else if (line.startsWith('calls=')) {
      afterCall = true;
    } else if (/^[0-9+*-]/.test(line)) {
      if (afterCall) {
        afterCall = false;
      } else if (current !== undefined) {
        // The position first, then the events in the order of `events:`; events left off are zero.
        const values = line.split(' ');
        for (let i = 1; i < values.length; i++) {
          const event = events[i - 1]!;
          current.set(event, (current.get(event) ?? 0) + Number(values[i]));
        }
      }
    } else if (line.startsWith('events:')) {
      events = line.slice('events:'.length).trim().split(' ');
    } else if (line.startsWith('totals:')) {
      const values = line.slice('totals:'.length).trim().split(' ');
      events.forEach((event, i) => totals.set(event, Number(values[i] ?? 0)));
    }
  }
  return { totals, functions };
}

/** The sum of some events of a function's (or the dump's) costs. */
export function sumOf(costs: Costs | undefined, ...events: string[]): number {
  return events.reduce((sum, event) => sum + (costs?.get(event) ?? 0), 0);
}
