/**
 * The stagings' lock against moto's server: the listener-priority handler writes a host's rules
 * with a sign-in and an automation companion, and the sleep/wake flip (the request the waker sends:
 * reweightedActions, OIDC with UseExistingClientSecret) is accepted and keeps the sign-in. The same
 * paths run against aws-sdk-client-mock in test/lambda/listener-priority.test.ts.
 *
 * Where moto differs from AWS, and what this test does about it:
 * - The seed's listener is HTTP (moto needs no certificate for it); AWS accepts authenticate
 *   actions only on HTTPS listeners. moto does not check that, so the shapes are what is tested.
 * - DescribeRules returns the OIDC client secret as it was sent (AWS never returns it); the test
 *   therefore checks what the flip *sends*, not what moto echoes.
 */
import { DescribeRulesCommand, ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTargetGroupCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { OnEventRequest } from '../../lambda/shared/provider';
import { describeWithMoto } from './moto-server';
import { DOMAIN, SharedWorld, clients, seedShared } from './seed';

type ListenerPriority = typeof import('../../lambda/listener-priority/index');
type Rules = typeof import('../../lambda/listener-priority/rules');

describeWithMoto('the stagings\' lock against moto', () => {
  let handler: ListenerPriority;
  let rules: Rules;
  let shared: SharedWorld;
  const saved = { STAGING_ACCESS: process.env.STAGING_ACCESS, WAKER_TARGET_GROUP_ARN: process.env.WAKER_TARGET_GROUP_ARN };
  const host = `feature-locked-1a2b3c4d.${DOMAIN}`;

  beforeAll(async () => {
    handler = await import('../../lambda/listener-priority/index');
    rules = await import('../../lambda/listener-priority/rules');
  });
  afterAll(() => Object.assign(process.env, saved));

  test('a locked host: sign-in before the forward, the token rule below it, and flips that keep the sign-in', async () => {
    shared = await seedShared();
    const sm = new SecretsManagerClient({ maxAttempts: 2 });
    const clientSecret = (await sm.send(new CreateSecretCommand({ Name: 'staging/oidc-client-secret', SecretString: 'the-client-secret' }))).ARN!;
    const token = (await sm.send(new CreateSecretCommand({ Name: 'staging/automation-token', SecretString: 'the-token' }))).ARN!;
    process.env.WAKER_TARGET_GROUP_ARN = shared.wakerTargetGroupArn;
    process.env.STAGING_ACCESS = JSON.stringify({
      signIn: 'oidc',
      oidc: {
        issuer: 'https://idp.example.com',
        authorizationEndpoint: 'https://idp.example.com/authorize',
        tokenEndpoint: 'https://idp.example.com/token',
        userInfoEndpoint: 'https://idp.example.com/userinfo',
        clientId: 'client-1',
        clientSecretArn: clientSecret,
        scope: 'openid email',
      },
      networks: [],
      automation: { headerName: 'x-staging-automation', tokenSecretArn: token, wakes: false },
      publicPaths: [],
      sessionTimeoutSeconds: 3600,
      public: false,
    });
    const elbv2 = clients().elbv2;
    const tg = (await elbv2.send(new CreateTargetGroupCommand({ Name: 'tg-feature-locked', TargetType: 'ip', Protocol: 'HTTP', Port: 80, VpcId: shared.vpcId }))).TargetGroups![0].TargetGroupArn!;
    const event: OnEventRequest = {
      RequestType: 'Create',
      StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/staging-feature-locked-1a2b3c4d/0a1b2c3d',
      RequestId: 'r-1',
      LogicalResourceId: 'ListenerRule',
      ResourceType: 'Custom::StagingListenerRule',
      ResourceProperties: { ListenerArn: shared.listenerArn, HostHeader: host, TargetGroupArn: tg, Tags: [{ Key: 'staging:kind', Value: 'feature' }] },
    };
    const out = await handler.onEvent(event);
    expect(out.Data).toMatchObject({ RuleCount: '2', FlipRuleArns: out.PhysicalResourceId });

    const all = (await elbv2.send(new DescribeRulesCommand({ ListenerArn: shared.listenerArn }))).Rules ?? [];
    const primary = all.find((r) => r.RuleArn === out.PhysicalResourceId)!;
    const automation = all.find((r) => r.Conditions?.some((c) => c.Field === 'http-header'))!;
    const ordered = (r: typeof primary) => [...(r.Actions ?? [])].sort((a, b) => (a.Order ?? 0) - (b.Order ?? 0)).map((a) => a.Type);
    expect(ordered(primary)).toEqual(['authenticate-oidc', 'forward']);
    expect(automation.Conditions?.find((c) => c.Field === 'http-header')?.HttpHeaderConfig?.Values).toEqual(['the-token']);
    expect(Number(automation.Priority)).toBeLessThan(Number(primary.Priority));

    // The flip the waker sends to put the host to sleep, then to wake it: moto accepts both, and the sign-in stays first.
    for (const to of ['waker', 'branch'] as const) {
      const current = (await elbv2.send(new DescribeRulesCommand({ RuleArns: [primary.RuleArn!] }))).Rules![0];
      await elbv2.send(new ModifyRuleCommand({ RuleArn: primary.RuleArn!, Actions: rules.reweightedActions(current.Actions, tg, shared.wakerTargetGroupArn, to) }));
      const after = (await elbv2.send(new DescribeRulesCommand({ RuleArns: [primary.RuleArn!] }))).Rules![0];
      expect(ordered(after)).toEqual(['authenticate-oidc', 'forward']);
      expect(rules.routeOf(after, shared.wakerTargetGroupArn)).toBe(to);
    }

    // Destroy: the companion and the primary go; nothing of the host is left on the listener.
    await handler.onEvent({ ...event, RequestType: 'Delete', PhysicalResourceId: out.PhysicalResourceId });
    const left = ((await elbv2.send(new DescribeRulesCommand({ ListenerArn: shared.listenerArn }))).Rules ?? []).filter((r) =>
      r.Conditions?.some((c) => (c.HostHeaderConfig?.Values ?? c.Values ?? []).includes(host)),
    );
    expect(left).toEqual([]);
  });
});
