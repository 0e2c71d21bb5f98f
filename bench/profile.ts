/**
 * Where the time of a request goes, from a V8 CPU profile taken through the server's inspector over exactly one
 * measured round (start-up and warm-up stay out of it): the self time of each function, divided by the requests
 * of the round. Unlike CPU time alone, this separates the library's own functions from socket writes (on
 * loopback a write also runs the receiving side's TCP path in the kernel) and from garbage collection. The
 * profiler itself slows the process down; compare profiles with each other, not with unprofiled rounds.
 */
import type { Profiler } from 'node:inspector';
import type { LoadResult } from './pinned-load.js';
import type { ServerProcess } from './server-process.js';

/** Per request, in µs. */
export interface ProfileShare {
  busy: number;
  library: number;
  socketWrites: number;
  garbageCollection: number;
}

const LIBRARY = /libs\/trusted-header\/dist\/|node_modules\/nestjs-trusted-header\/|node_modules\/lru-cache\//;

function categorise(frame: Profiler.ProfileNode['callFrame']): keyof ProfileShare | 'idle' | 'other' {
  if (frame.functionName === '(idle)') return 'idle';
  if (frame.functionName === '(garbage collector)') return 'garbageCollection';
  if (frame.url === '' && /^writev?$/.test(frame.functionName)) return 'socketWrites';
  if (LIBRARY.test(frame.url)) return 'library';
  return 'other';
}

/** Self time per request by category, of the profile of a round of `requests` requests. */
export function shareOf(profile: Profiler.Profile, requests: number): ProfileShare {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals: ProfileShare = { busy: 0, library: 0, socketWrites: 0, garbageCollection: 0 };
  (profile.samples ?? []).forEach((id, index) => {
    const delta = profile.timeDeltas?.[index] ?? 0;
    const category = categorise(byId.get(id)!.callFrame);
    if (category === 'idle') return;
    totals.busy += delta;
    if (category !== 'other') totals[category] += delta;
  });
  const per = (micros: number) => micros / Math.max(1, requests);
  return {
    busy: per(totals.busy),
    library: per(totals.library),
    socketWrites: per(totals.socketWrites),
    garbageCollection: per(totals.garbageCollection),
  };
}

/** Profiles the server over one round of load. */
export async function profileShare(server: ServerProcess, round: () => Promise<LoadResult>): Promise<ProfileShare> {
  await server.ask('profile-start');
  const result = await round();
  const { profile } = await server.ask('profile-stop');
  if (profile === undefined) throw new Error('the server returned no CPU profile');
  return shareOf(profile, result.requests);
}
