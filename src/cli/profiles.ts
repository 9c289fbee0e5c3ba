/**
 * Named connection profiles, like `aws configure`: endpoint, project and AK/SK in one JSON file
 * that only its owner can read (0600, in a 0700 directory). Flags and environment variables
 * still win over a profile, field by field.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from './output.js';

export interface Profile {
  endpoint?: string;
  project_id?: string;
  access_key?: string;
  secret_key?: string;
}

export type Profiles = Record<string, Profile>;

export const DEFAULT_PROFILE = 'default';

/** DCS_CONFIG_FILE, else $XDG_CONFIG_HOME/dcs-tasks/profiles.json, else ~/.config/dcs-tasks/profiles.json. */
export function profilesFile(): string {
  if (process.env.DCS_CONFIG_FILE) return process.env.DCS_CONFIG_FILE;
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'dcs-tasks', 'profiles.json');
}

export function readProfiles(file = profilesFile()): Profiles {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`cannot read the profiles file ${file}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch { /* reported below */ }
  if (isProfiles(parsed)) return parsed;
  // configure does not overwrite it either: the other profiles in it would be lost.
  throw new UsageError(`the profiles file ${file} is not a JSON object of profiles (each field a string); fix it, or remove it and run dcs-tasks configure again.`);
}

const FIELDS = new Set(['endpoint', 'project_id', 'access_key', 'secret_key']);
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function isProfiles(x: unknown): x is Profiles {
  return isObject(x) && Object.values(x).every((p) => isObject(p) && Object.entries(p).every(([k, v]) => !FIELDS.has(k) || typeof v === 'string'));
}

/** Writes the file with mode 0600 (also when it existed with wider permissions), in a 0700 directory. */
export function writeProfiles(profiles: Profiles, file = profilesFile()): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Our own directory (not one DCS_CONFIG_FILE chose) is the owner's only, also when it existed wider.
  if (!process.env.DCS_CONFIG_FILE) fs.chmodSync(path.dirname(file), 0o700);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(profiles, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

/**
 * The profile a command uses: --profile, else DCS_PROFILE, else "default" if it exists.
 * A profile named explicitly must exist.
 */
export function selectedProfile(flag: string | undefined): Profile {
  const named = flag ?? (process.env.DCS_PROFILE || undefined);
  const profiles = readProfiles();
  if (named === undefined) return profiles[DEFAULT_PROFILE] ?? {};
  const p = profiles[named];
  if (!p) throw new UsageError(`no profile "${named}" in ${profilesFile()}: create it with dcs-tasks configure --profile ${named}.`);
  return p;
}
