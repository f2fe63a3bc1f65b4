/**
 * The fake CRM's own ids of the demo's sites: the CRM numbers its sites, the demo knows them by
 * code name. `CrmConnector.getInternalObjectParams` translates a person's `siteId` through this
 * table, so the site a CRM person belongs to becomes the demo site of that code name, whatever its
 * local id. A real connector would ask the CRM or keep such a table in its configuration.
 */
export const CRM_SITES: ReadonlyMap<number, string> = new Map([
  [100, 'main'],
  [200, 'intranet'],
]);
