/**
 * The AWS side of a host's lock: the secret values its rules carry (the OIDC client secret, the
 * automation token) and, with Cognito, the host's own app client.
 *
 * Why one Cognito app client per host, not one client with every host's callback URL: the ALB
 * sends each host's browser back to `https://<host>/oauth2/idpresponse`, and Cognito accepts no
 * wildcard callback URLs. Adding each host to one shared client means read-modify-write on
 * UpdateUserPoolClient (it replaces the whole configuration, so two concurrent deploys lose each
 * other's URLs unless serialized) and a cap on callback URLs per client. A client per host is
 * created and deleted atomically by its own branch, needs no lock, and `cdk destroy` removes
 * exactly its own. The sign-in itself is shared: every client sends the browser to the same
 * Cognito domain, whose session cookie signs the person in to the next host without a password.
 */
import {
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  DeleteUserPoolClientCommand,
  paginateListUserPoolClients,
} from '@aws-sdk/client-cognito-identity-provider';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type AccessConfig, type CognitoConfig } from '../../lib/contract/access';
import { isAwsError, log } from '../shared/provider';
import type { AccessInputs } from './access';

const SDK = { maxAttempts: 8, retryMode: 'adaptive' } as const;
export const secretsManager = new SecretsManagerClient(SDK);
export const cognito = new CognitoIdentityProviderClient(SDK);

/** The app client of one host: named after the host, so a replay finds it. */
export function cognitoClientName(host: string): string {
  return host.toLowerCase().slice(0, 128);
}

/** Reads the secrets and, with Cognito, creates or adopts the host's app client. */
export async function lockInputs(config: AccessConfig, host: string): Promise<AccessInputs> {
  const [oidcClientSecret, automationToken, cognitoClientId] = await Promise.all([
    config.signIn === 'oidc' ? secretString(config.oidc!.clientSecretArn, 'the OIDC client secret') : undefined,
    config.automation ? secretString(config.automation.tokenSecretArn, 'the automation token') : undefined,
    config.signIn === 'cognito' && !config.public ? ensureCognitoClient(config.cognito!, host) : undefined,
  ]);
  return { oidcClientSecret, automationToken, cognitoClientId };
}

async function secretString(arn: string, what: string): Promise<string> {
  const out = await secretsManager.send(new GetSecretValueCommand({ SecretId: arn }));
  const value = out.SecretString?.trim();
  if (!value) throw new Error(`${what} (secret ${arn}) is empty: put the value in the secret, then deploy again`);
  return value;
}

async function findCognitoClient(c: CognitoConfig, host: string): Promise<string | undefined> {
  const name = cognitoClientName(host);
  for await (const page of paginateListUserPoolClients({ client: cognito }, { UserPoolId: c.userPoolId, MaxResults: 60 })) {
    const found = (page.UserPoolClients ?? []).find((client) => client.ClientName === name);
    if (found?.ClientId) return found.ClientId;
  }
  return undefined;
}

async function ensureCognitoClient(c: CognitoConfig, host: string): Promise<string> {
  const existing = await findCognitoClient(c, host);
  if (existing) {
    log('adopting the Cognito app client of this host', { host, clientId: existing });
    return existing;
  }
  const out = await cognito
    .send(
    new CreateUserPoolClientCommand({
      UserPoolId: c.userPoolId,
      ClientName: cognitoClientName(host),
      GenerateSecret: true,
      CallbackURLs: [`https://${host}/oauth2/idpresponse`],
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: c.scopes,
      SupportedIdentityProviders: c.identityProviders,
      PreventUserExistenceErrors: 'ENABLED',
      EnableTokenRevocation: true,
    }),
    )
    .catch((error: unknown) => {
      if (!isAwsError(error, 'LimitExceededException')) throw error;
      throw new Error(
        `The user pool ${c.userPoolId} has no room for another app client (one per staging host): its quota of app clients is reached. ` +
          `Destroy idle stagings, or ask AWS for a higher 'App clients per user pool' quota (Service Quotas > Amazon Cognito User Pools), then deploy again.`,
        { cause: error },
      );
    });
  const clientId = out.UserPoolClient?.ClientId;
  if (!clientId) throw new Error(`CreateUserPoolClient for ${host} returned no client id`);
  log('Cognito app client created for this host', { host, clientId });
  return clientId;
}

/** Deletes the host's app client; a missing one (or pool) is already done. */
export async function deleteCognitoClient(config: AccessConfig | undefined, host: string): Promise<void> {
  if (!config || config.public || config.signIn !== 'cognito') return;
  const c = config.cognito!;
  try {
    const clientId = await findCognitoClient(c, host);
    if (!clientId) return;
    await cognito.send(new DeleteUserPoolClientCommand({ UserPoolId: c.userPoolId, ClientId: clientId }));
    log('Cognito app client of this host deleted', { host, clientId });
  } catch (error) {
    if (isAwsError(error, 'ResourceNotFoundException')) return;
    throw error;
  }
}
