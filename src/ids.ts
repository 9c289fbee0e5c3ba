/** Identifier formats shared by every layer: instances, backups and key analyses are lowercase UUIDs. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const isUuid = (s: string): boolean => UUID.test(s);
