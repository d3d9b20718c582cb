// Which Project a run steps with: new runs use the active version, runs in flight the version they started
// on (runs.config_version). Versions are immutable, so each is loaded (and compiled) once per process.
import type { Knex } from 'knex';
import type { Project } from '../../config/model.js';
import { loadConfigFiles } from '../config-files.js';
import { activeVersion, ConfigInvalidError, loadVersionFiles } from '../config-versions.js';
import type { Store } from '../store/open-store.js';

export interface ProjectLoader {
  /** The active version and its Project (undefined when nothing is active). */
  active(): Promise<{ version: string; project: Project } | undefined>;
  /** The Project of one stored version. */
  version(id: string): Promise<Project>;
}

/**
 * Loads, before a transaction, the versions it may step with: inside it, a first load would ask the pool for
 * a second connection, which PGlite (one connection) can never give while the transaction holds its own.
 */
export async function preloadVersions(projects: ProjectLoader, db: Knex, sql: string, bindings: readonly unknown[] = []): Promise<void> {
  const rows = (await db.raw(sql, bindings as Knex.RawBinding[])).rows as { config_version: string }[];
  for (const r of rows) await projects.version(r.config_version);
}

export function storeProjectLoader(store: Store): ProjectLoader {
  const cache = new Map<string, Promise<Project>>();
  const version = (id: string): Promise<Project> => {
    let p = cache.get(id);
    if (!p) {
      p = (async () => {
        const { files } = await loadVersionFiles(store, id);
        const loaded = loadConfigFiles(files);
        if (!loaded.project) throw new ConfigInvalidError(loaded.diagnostics);
        return loaded.project;
      })();
      p.catch(() => cache.delete(id));
      cache.set(id, p);
    }
    return p;
  };
  return {
    async active() {
      const id = await activeVersion(store.db);
      if (!id) return undefined;
      return { version: id, project: await version(id) };
    },
    version,
  };
}
