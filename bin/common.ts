import { Stack } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { ServiceOptions } from '../lib';
import { ServiceConfig, StagingConfig } from './config';

/** What the ready-made app's shared and branch stacks both need. */

/** Where the stacks go: `staging.region` (required), and `staging.account` or the CLI's credentials' account. */
export function env(config: StagingConfig) {
  return { account: config.account ?? process.env.CDK_DEFAULT_ACCOUNT, region: config.region };
}

export function serviceOptions(s: ServiceConfig): ServiceOptions {
  return {
    name: s.name,
    command: s.command,
    cpu: s.cpu,
    memoryLimitMiB: s.memoryMiB,
    desiredCount: s.desiredCount,
    environment: s.environment,
  };
}

const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([a-z0-9._\/-]+)(?::([\w.-]+)|@(sha256:[0-9a-f]{64}))?$/;

/** A private ECR image gets pull permissions on its repository; any other image is pulled as is. */
export function appImage(scope: Stack, uri: string): ecs.ContainerImage {
  const ecrImage = ECR_IMAGE.exec(uri);
  if (!ecrImage) return ecs.ContainerImage.fromRegistry(uri);
  const [, account, region, china, name, tag, digest] = ecrImage;
  const repository = ecr.Repository.fromRepositoryAttributes(scope, 'AppRepository', {
    repositoryArn: `arn:${china ? 'aws-cn' : 'aws'}:ecr:${region}:${account}:repository/${name}`,
    repositoryName: name,
  });
  return ecs.ContainerImage.fromEcrRepository(repository, digest ?? tag ?? 'latest');
}

/** `staging.app.cpuArchitecture` as ECS takes it. */
export function cpuArchitecture(config: StagingConfig): ecs.CpuArchitecture {
  return config.app.cpuArchitecture === 'arm64' ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64;
}
