// The environment the jsii tools (jsii, jsii-docgen, jsii-diff, jsii-pacmak, jsii-rosetta) run in.
//
// They print a banner on every run under Node 20, which they stopped supporting on 2026-10-30.
// These machines run Node 20 and the package supports it ("engines": ">=20"); the release
// workflow runs on Node 22. The banner is silenced for Node 20 only (README, Contributing:
// accepted jsii warnings); any other unsupported version still shows it.
export function jsiiEnv(env = process.env) {
  return { ...env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' };
}
