/**
 * Most users of a deployment hold one of a few sets of groups, and every cached identity and user holds its
 * group lists (external and effective). This table hands out one frozen list per distinct list of names, and one
 * string per group name, so each is held once in memory rather than once per cached user.
 *
 * Bounded: once the lists and names remembered reach MAX_CHARACTERS characters in all, the table starts over, so
 * a flood of distinct group names costs at most that much here. A list handed out before stays valid (it is
 * frozen); later equal lists are merely not the same array as it.
 */
const MAX_CHARACTERS = 1 << 18;

const lists = new Map<string, readonly string[]>();
const names = new Map<string, string>();
let characters = 0;

const NO_GROUPS: readonly string[] = Object.freeze([]);

/** A frozen list of these names in this order: the one handed out for an equal list, where the table has it. */
export function sharedGroupList(groups: readonly string[]): readonly string[] {
  if (groups.length === 0) return NO_GROUPS;
  const key = JSON.stringify(groups);
  const known = lists.get(key);
  if (known !== undefined) return known;
  // The key and at most as many characters of names: a list that could not fit alone is never remembered.
  const cost = 2 * key.length;
  if (cost > MAX_CHARACTERS) return Object.freeze([...groups]);
  if (characters + cost > MAX_CHARACTERS) {
    lists.clear();
    names.clear();
    characters = 0;
  }
  // Read back from the key: strings of their own, never slices that would keep a whole header value alive.
  const list = Object.freeze((JSON.parse(key) as string[]).map(sharedName));
  lists.set(key, list);
  characters += key.length;
  return list;
}

function sharedName(name: string): string {
  const known = names.get(name);
  if (known !== undefined) return known;
  names.set(name, name);
  characters += name.length;
  return name;
}
