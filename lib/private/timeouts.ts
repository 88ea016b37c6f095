import { Duration } from 'aws-cdk-lib';

/**
 * The `serviceTimeout` feature stacks give custom resources of the shared providers:
 * CloudFormation's maximum, above every provider's `totalTimeout`. Kept apart from
 * StagingProvider so branch stacks don't load the Provider framework's modules.
 */
export const PROVIDER_SERVICE_TIMEOUT = Duration.hours(1);
