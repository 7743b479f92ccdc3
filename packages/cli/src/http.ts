// Temporary: the old entry point, until the serve command moves to its own module.
import type { Server } from 'node:http';
import type { Repo } from '@cafs/repo';
import { serve as serveWithLimits, type ServeOptions } from './http/index.js';

export async function serve(repo: Repo, options: ServeOptions = {}): Promise<Server> {
  return (await serveWithLimits(repo, options)).server;
}
