import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The example `staging` block of cdk.json, as `cdk synth` reads it. Its branches take the
 * everyday choice: a database copied from the golden template, a key prefix on the shared cache
 * and a restored Solr collection.
 */
export const EXAMPLE_STAGING = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')).context.staging;

/**
 * The example with the seed's choice, one key each away (README, "Data modes"): every branch
 * restores an RDS instance of its own from the newest snapshot and runs a Valkey node of its own.
 */
export const SNAPSHOT_STAGING = {
  ...EXAMPLE_STAGING,
  feature: {
    ...EXAMPLE_STAGING.feature,
    database: { ...EXAMPLE_STAGING.feature.database, mode: 'snapshot' },
    cache: { ...EXAMPLE_STAGING.feature.cache, mode: 'dedicated' },
  },
};
