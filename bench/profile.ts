/**
 * Where the time of (c) goes, from V8 CPU profiles: (b') and (c) of one adapter run one after the other under
 * the same load with `--cpu-prof`, and the self time of every function in a window of the measured burst is
 * divided by the requests served in it. Unlike throughput, this separates the library's own functions from
 * socket writes (on loopback a write also runs the client's receive path in the kernel, so it moves with the
 * client) and from the framework.
 */
import autocannon from 'autocannon';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REQUEST_HEADERS, ServerProcess, type Adapter } from './server-process.js';

const WARMUP_SECONDS = 1;
const SECONDS = 5;
/** Samples from the start and end of the burst are left out: connections opening, the process shutting down. */
const EDGE_SECONDS = 0.5;

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Per request, in µs. */
export interface ProfileShare {
  busy: number;
  library: number;
  socketWrites: number;
  garbageCollection: number;
}

export interface LibraryShare {
  baseline: ProfileShare;
  guard: ProfileShare;
}

const LIBRARY = /libs\/trusted-header\/dist\/|node_modules\/nestjs-trusted-header\/|node_modules\/lru-cache\//;

function categorise(frame: { functionName: string; url: string }): keyof ProfileShare | 'idle' | 'other' {
  if (frame.functionName === '(idle)') return 'idle';
  if (frame.functionName === '(garbage collector)') return 'garbageCollection';
  if (frame.url === '' && /^writev?$/.test(frame.functionName)) return 'socketWrites';
  if (LIBRARY.test(frame.url)) return 'library';
  return 'other';
}

async function profileOne(variant: 'noop' | 'guard', adapter: Adapter): Promise<ProfileShare> {
  const directory = mkdtempSync(join(tmpdir(), 'th-bench-profile-'));
  try {
    const server = await ServerProcess.start(variant, adapter, { DATABASE_URL: '' }, [
      '--cpu-prof',
      `--cpu-prof-dir=${directory}`,
    ]);
    const url = server.url('/hello');
    await autocannon({ url, connections: 50, duration: WARMUP_SECONDS, headers: REQUEST_HEADERS });
    const result = await autocannon({ url, connections: 50, duration: SECONDS, headers: REQUEST_HEADERS });
    await server.stop('SIGTERM');
    const file = readdirSync(directory).find((name) => name.endsWith('.cpuprofile'));
    if (!file) throw new Error(`${variant}/${adapter}: no CPU profile written`);
    const profile = JSON.parse(readFileSync(join(directory, file), 'utf8')) as CpuProfile;
    // The burst ends right before the stop signal, so it is the last SECONDS of the profile, give or take.
    const to = profile.endTime - EDGE_SECONDS * 1e6;
    const from = profile.endTime - (SECONDS - EDGE_SECONDS) * 1e6;
    const requests = (result.requests.total * (SECONDS - 2 * EDGE_SECONDS)) / SECONDS;
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const totals: ProfileShare = { busy: 0, library: 0, socketWrites: 0, garbageCollection: 0 };
    let time = profile.startTime;
    profile.samples.forEach((id, index) => {
      const delta = profile.timeDeltas[index] ?? 0;
      time += delta;
      if (time < from || time > to) return;
      const category = categorise(byId.get(id)!.callFrame);
      if (category === 'idle') return;
      totals.busy += delta;
      if (category !== 'other') totals[category] += delta;
    });
    return {
      busy: totals.busy / requests,
      library: totals.library / requests,
      socketWrites: totals.socketWrites / requests,
      garbageCollection: totals.garbageCollection / requests,
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** (b') then (c) of one adapter under the same load; see the file comment. */
export async function profileLibraryShare(adapter: Adapter): Promise<LibraryShare> {
  const baseline = await profileOne('noop', adapter);
  const guard = await profileOne('guard', adapter);
  return { baseline, guard };
}
