// A plain in-memory POSIX tree: the model the filesystem is checked against.
export type MNode =
  | { type: 'file'; data: Uint8Array; mode: number; xattrs: Map<string, string> }
  | { type: 'directory'; children: Map<string, MNode>; mode: number; xattrs: Map<string, string> }
  | { type: 'symlink'; target: string; mode: number; xattrs: Map<string, string> };

export class ModelError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

type Dir = Extract<MNode, { type: 'directory' }>;

export class Model {
  root: Dir = { type: 'directory', children: new Map(), mode: 0o755, xattrs: new Map() };

  private split(path: string): string[] {
    return path.split('/').filter((p) => p !== '' && p !== '.');
  }

  /** Resolves to [parent dir, name, node|undefined, resolved names]. */
  resolve(path: string, follow: boolean): { parent: Dir; name: string | undefined; node: MNode | undefined; names: string[] } {
    let queue = this.split(path);
    let names: string[] = [];
    let cur: Dir = this.root;
    const stack: Dir[] = [];
    let links = 0;
    while (queue.length > 0) {
      const name = queue.shift()!;
      const last = queue.length === 0;
      if (name === '..') {
        if (stack.length > 0) {
          cur = stack.pop()!;
          names = names.slice(0, -1);
        }
        if (last) return { parent: stack[stack.length - 1] ?? this.root, name: names[names.length - 1], node: cur, names };
        continue;
      }
      const node = cur.children.get(name);
      if (node === undefined) {
        if (last) return { parent: cur, name, node: undefined, names: [...names, name] };
        throw new ModelError('ENOENT');
      }
      if (node.type === 'symlink' && (!last || follow)) {
        if (++links > 40) throw new ModelError('ELOOP');
        if (node.target.startsWith('/')) {
          cur = this.root;
          stack.length = 0;
          names = [];
        }
        queue = [...this.split(node.target), ...queue];
        if (queue.length === 0) return { parent: stack[stack.length - 1] ?? this.root, name: names[names.length - 1], node: cur, names };
        continue;
      }
      if (last) return { parent: cur, name, node, names: [...names, name] };
      if (node.type !== 'directory') throw new ModelError('ENOTDIR');
      stack.push(cur);
      cur = node;
      names = [...names, name];
    }
    return { parent: stack[stack.length - 1] ?? this.root, name: names[names.length - 1], node: cur, names };
  }

  existing(path: string, follow: boolean) {
    const r = this.resolve(path, follow);
    if (r.node === undefined) throw new ModelError('ENOENT');
    return r as typeof r & { node: MNode };
  }

  mkdir(path: string): void {
    const r = this.resolve(path, false);
    if (r.node !== undefined) throw new ModelError('EEXIST');
    r.parent.children.set(r.name!, { type: 'directory', children: new Map(), mode: 0o755, xattrs: new Map() });
  }

  writeFile(path: string, data: Uint8Array): void {
    const r = this.resolve(path, true);
    if (r.node !== undefined) {
      if (r.node.type === 'directory') throw new ModelError('EISDIR');
      (r.node as { data: Uint8Array }).data = data.slice();
      return;
    }
    r.parent.children.set(r.name!, { type: 'file', data: data.slice(), mode: 0o644, xattrs: new Map() });
  }

  write(path: string, offset: number, bytes: Uint8Array): void {
    const r = this.existing(path, true);
    if (r.node.type === 'directory') throw new ModelError('EISDIR');
    const f = r.node as { data: Uint8Array };
    if (bytes.length === 0) return;
    const size = Math.max(f.data.length, offset + bytes.length);
    const out = new Uint8Array(size);
    out.set(f.data);
    out.set(bytes, offset);
    f.data = out;
  }

  truncate(path: string, size: number): void {
    const r = this.existing(path, true);
    if (r.node.type === 'directory') throw new ModelError('EISDIR');
    const f = r.node as { data: Uint8Array };
    const out = new Uint8Array(size);
    out.set(f.data.subarray(0, Math.min(size, f.data.length)));
    f.data = out;
  }

  unlink(path: string): void {
    const r = this.existing(path, false);
    if (r.node.type === 'directory') throw new ModelError('EISDIR');
    r.parent.children.delete(r.name!);
  }

  rmdir(path: string): void {
    const r = this.existing(path, false);
    if (r.node.type !== 'directory') throw new ModelError('ENOTDIR');
    if (r.names.length === 0) throw new ModelError('EBUSY');
    if (r.node.children.size > 0) throw new ModelError('ENOTEMPTY');
    r.parent.children.delete(r.name!);
  }

  rm(path: string): void {
    const r = this.existing(path, false);
    if (r.names.length === 0) throw new ModelError('EBUSY');
    r.parent.children.delete(r.name!);
  }

  rename(from: string, to: string): void {
    const s = this.existing(from, false);
    const d = this.resolve(to, false);
    if (s.names.length === 0 || d.names.length === 0) throw new ModelError('EBUSY');
    if (s.names.join('/') === d.names.join('/')) return;
    // Linux: a target that is an ancestor of the source is ENOTEMPTY before any type check.
    if (s.names.length > d.names.length && s.names.slice(0, d.names.length).join('/') === d.names.join('/')) throw new ModelError('ENOTEMPTY');
    const isDir = s.node.type === 'directory';
    if (isDir && d.names.length > s.names.length && d.names.slice(0, s.names.length).join('/') === s.names.join('/')) throw new ModelError('EINVAL');
    if (d.node !== undefined) {
      if (isDir) {
        if (d.node.type !== 'directory') throw new ModelError('ENOTDIR');
        if (d.node.children.size > 0) throw new ModelError('ENOTEMPTY');
      } else if (d.node.type === 'directory') throw new ModelError('EISDIR');
      // Two names of one file: rename does nothing.
      if (d.node === s.node) return;
    }
    s.parent.children.delete(s.name!);
    d.parent.children.set(d.name!, s.node);
  }

  copy(from: string, to: string): void {
    const s = this.existing(from, true);
    const d = this.resolve(to, false);
    if (s.names.length === 0) throw new ModelError('EBUSY');
    if (s.names.join('/') === d.names.join('/')) return;
    const isDir = s.node.type === 'directory';
    if (isDir && d.names.length > s.names.length && d.names.slice(0, s.names.length).join('/') === s.names.join('/')) throw new ModelError('EINVAL');
    if (d.node !== undefined) {
      if (isDir) throw new ModelError(d.node.type !== 'directory' ? 'ENOTDIR' : 'EEXIST');
      if (d.node.type === 'directory') throw new ModelError('EISDIR');
      if (d.node === s.node) return;
    }
    d.parent.children.set(d.name!, clone(s.node));
  }

  /** A second name for the same node (a hard link). */
  link(existing: string, newPath: string): void {
    const s = this.existing(existing, false);
    const d = this.resolve(newPath, false);
    if (d.node !== undefined) throw new ModelError('EEXIST');
    if (s.node.type === 'directory') throw new ModelError('EPERM');
    d.parent.children.set(d.name!, s.node);
  }

  symlink(target: string, path: string): void {
    const r = this.resolve(path, false);
    if (r.node !== undefined) throw new ModelError('EEXIST');
    r.parent.children.set(r.name!, { type: 'symlink', target, mode: 0o777, xattrs: new Map() });
  }

  chmod(path: string, mode: number): void {
    this.existing(path, true).node.mode = mode;
  }

  setxattr(path: string, name: string, value: string): void {
    this.existing(path, true).node.xattrs.set(name, value);
  }

  removexattr(path: string, name: string): void {
    const n = this.existing(path, true).node;
    if (!n.xattrs.delete(name)) throw new ModelError('ENODATA');
  }
}

function clone(n: MNode): MNode {
  if (n.type === 'directory') {
    return { ...n, children: new Map([...n.children].map(([k, v]) => [k, clone(v)])), xattrs: new Map(n.xattrs) };
  }
  if (n.type === 'file') return { ...n, data: n.data.slice(), xattrs: new Map(n.xattrs) };
  return { ...n, xattrs: new Map(n.xattrs) };
}
