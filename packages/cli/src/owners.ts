// User and group names for `ls -l`, from /etc/passwd and /etc/group (read once, on first use).
import { readFileSync } from 'node:fs';

/** Maps the third field (the id) to the first (the name) of each `name:x:id:...` line. */
export function parseIdFile(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const id = Number(f[2]);
    // The first line for an id wins, as getpwuid(3) returns it.
    if (f[0] && f[2] !== '' && Number.isSafeInteger(id) && !names.has(id)) names.set(id, f[0]);
  }
  return names;
}

function lazyTable(file: string): (id: number) => string {
  let table: Map<number, string> | undefined;
  return (id) => {
    if (table === undefined) {
      try {
        table = parseIdFile(readFileSync(file, 'utf8'));
      } catch {
        table = new Map(); // unreadable or absent: numbers only
      }
    }
    return table.get(id) ?? String(id);
  };
}

/** The user name of a uid, or the number when there is none. */
export const userName = lazyTable('/etc/passwd');
/** The group name of a gid, or the number when there is none. */
export const groupName = lazyTable('/etc/group');
