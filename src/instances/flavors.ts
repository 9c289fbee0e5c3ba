/**
 * The flavors (spec codes) and the one availability zone this service offers, in the SDK's
 * FlavorsItems / AvailableZones shapes: the provider reads `flavors[0].cache_mode` and
 * `replica_count` on resize and the zone ids on create (automation.md §3.5).
 */
import { arch } from 'node:os';
import { Errors } from '../errors.js';
import { ENGINE_VERSIONS } from './rules.js';
import type { InstanceRecord } from './records.js';

export const CPU_TYPE = arch() === 'arm64' ? 'aarch64' : 'x86_64';

export const AVAILABILITY_ZONE = { id: 'ae04cf9d61544df3806a3feeb401b204', code: 'local-1a', name: 'local zone 1', port: '8002', resource_availability: 'true' };

const CAPACITIES_GB = [0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64];

/**
 * The codes of a size: DCS's own (`tiny.<MB>` below 1 GB, `large.<GB>` from 1 GB), and below 1 GB
 * also the `large.<GB>` spelling this service used first, which instances may still carry.
 */
function specCodes(mode: 'single' | 'ha', gb: number): string[] {
  const large = mode === 'ha' ? `redis.ha.xu1.large.r2.${gb}` : `redis.single.xu1.large.${gb}`;
  if (gb >= 1) return [large];
  const mb = gb * 1024;
  return [mode === 'ha' ? `redis.ha.xu1.tiny.r2.${mb}` : `redis.single.xu1.tiny.${mb}`, large];
}

/** single: one redis-server; ha: a master and one replica. */
function flavor(mode: 'single' | 'ha', gb: number, specCode: string) {
  const replicas = mode === 'ha' ? 2 : 1;
  return {
    spec_code: specCode,
    cloud_service_type_code: 'hws.service.type.dcs',
    cloud_resource_type_code: 'hws.resource.type.dcs3',
    cache_mode: mode,
    engine: 'redis',
    engine_version: ENGINE_VERSIONS.join(';'),
    product_type: 'generic',
    cpu_type: CPU_TYPE,
    storage_type: 'DRAM',
    capacity: [String(gb)],
    billing_mode: ['Hourly'],
    tenant_ip_count: replicas,
    pricing_type: 'normal',
    is_dec: false,
    attrs: [{ capacity: String(gb), name: 'max_memory', value: String(Math.floor(gb * 1024)) }],
    // The provider's flavors data source keeps only flavors whose first zone lists az_codes.
    flavors_available_zones: [{ capacity: String(gb), unit: 'GB', available_zones: [AVAILABILITY_ZONE.id], az_codes: [AVAILABILITY_ZONE.code] }],
    replica_count: replicas,
  };
}

export const FLAVORS = (['single', 'ha'] as const).flatMap((m) => CAPACITIES_GB.flatMap((gb) => specCodes(m, gb).map((code) => flavor(m, gb, code))));

/** `ha` with a replica, `single` without: what an instance is, whatever spec_code it shows. */
export function cacheModeOf(i: Pick<InstanceRecord, 'nodes'>): 'single' | 'ha' {
  return i.nodes.some((n) => n.role === 'replica') ? 'ha' : 'single';
}

/** The flavor a spec_code names, if it is one of FLAVORS. */
export function flavorOf(specCode: string | undefined): (typeof FLAVORS)[number] | undefined {
  return FLAVORS.find((x) => x.spec_code === specCode);
}

/**
 * The flavor of the same size in the other cache mode (`redis.single.xu1.tiny.256` ↔
 * `redis.ha.xu1.tiny.r2.256`): what an instance shows once replicas are added to a single one or
 * all removed from an ha one. An instance created without a spec_code gets the first spelling of
 * its capacity in that mode; undefined for a code that is not one of FLAVORS, or a capacity none
 * lists.
 */
export function flavorInMode(specCode: string | undefined, mode: 'single' | 'ha', capacityGb: number): string | undefined {
  const f = flavorOf(specCode);
  if (!f) return specCode ? undefined : flavorOf(specCodes(mode, capacityGb)[0])?.spec_code;
  // specCodes lists a size's spellings in the same order in both modes.
  const gb = Number(f.capacity[0]);
  return specCodes(mode, gb)[specCodes(f.cache_mode, gb).indexOf(f.spec_code)];
}

/**
 * A spec_code asked for on create or resize: one that GET …/flavors lists (automation.md §3.5:
 * the provider reads the flavor of what it asked for), of the capacity asked for with it.
 */
export function checkFlavor(specCode: string | undefined, capacityGb: number, capacityParam: string): void {
  if (specCode === undefined) return;
  const f = flavorOf(specCode);
  if (!f) throw Errors.badParam('spec_code', `${specCode} is not a flavor of this service: GET /v2/{project_id}/flavors lists them.`);
  if (Number(f.capacity[0]) !== capacityGb) {
    throw Errors.badParam(capacityParam, `${capacityGb} GB is not the capacity of ${specCode} (${f.capacity[0]} GB).`);
  }
}

export interface FlavorFilter { spec_code?: string; cache_mode?: string; capacity?: string; engine?: string; engine_version?: string; cpu_type?: string }

export function findFlavors(f: FlavorFilter) {
  return FLAVORS.filter((x) =>
    (f.spec_code === undefined || x.spec_code === f.spec_code) &&
    (f.cache_mode === undefined || x.cache_mode === f.cache_mode) &&
    (f.engine === undefined || x.engine === f.engine.toLowerCase()) &&
    (f.capacity === undefined || x.capacity.includes(f.capacity)) &&
    (f.engine_version === undefined || x.engine_version.split(';').includes(f.engine_version)) &&
    (f.cpu_type === undefined || x.cpu_type === f.cpu_type));
}
