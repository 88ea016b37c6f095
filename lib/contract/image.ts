/**
 * Image references as Docker parses them (github.com/distribution/reference, regexp.go): what the
 * ready-made app's `staging.app.image` and `-c image`, and the constructs' images, must be for ECS
 * to pull them. An image that cannot be pulled otherwise passes synth and fails the deploy after
 * minutes of rolling back.
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path-component [ "/" path-component ]*    (at most 255 characters)
 *   domain    := host [ ":" port ]
 *   path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag       := [\w][\w.-]{0,127}
 *   digest    := algorithm ":" hex (at least 32 digits)
 */

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const NAME_MAX = 255;

/** An image reference that can be pulled, for messages: "write it like ...". */
export const IMAGE_EXAMPLE = 'public.ecr.aws/docker/library/nginx:1.27';

/**
 * Why `ref` is not an image reference Docker can pull, in words ("has an upper-case repository
 * ..."), or undefined when it is one. A reference without a tag or digest is valid: it means `latest`.
 */
export function imageReferenceProblem(ref: string): string | undefined {
  if (ref === '') return 'is empty';
  if (/\s/.test(ref)) return 'contains white space';
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(ref);
  if (scheme) return `starts with ${JSON.stringify(`${scheme[1]}://`)}; an image reference has no scheme: drop it, ${JSON.stringify(ref.slice(scheme[0].length))}`;
  const at = ref.indexOf('@');
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const beforeDigest = at >= 0 ? ref.slice(0, at) : ref;
  if (digest !== undefined && !DIGEST.test(digest)) return `has a digest that is not algorithm:hex (e.g. "sha256:" and 64 hex digits): ${JSON.stringify(digest)}`;
  const colon = beforeDigest.lastIndexOf(':');
  const hasTag = colon > beforeDigest.lastIndexOf('/');
  const name = hasTag ? beforeDigest.slice(0, colon) : beforeDigest;
  const tag = hasTag ? beforeDigest.slice(colon + 1) : undefined;
  if (tag === '') return 'has an empty tag after ":"; give the tag (e.g. ":1.27") or leave the ":" out';
  if (tag !== undefined && !TAG.test(tag)) {
    return `has an invalid tag ${JSON.stringify(tag)}: 1 to 128 letters, digits, "_", "." and "-", not starting with "." or "-"`;
  }
  if (name === '') return 'has no repository name';
  if (name.length > NAME_MAX) return `has a name of ${name.length} characters; Docker allows at most ${NAME_MAX}`;
  const parts = name.split('/');
  // As Docker decides: the first part is a registry when more follows and it has a "." or ":", is
  // localhost, or has upper-case letters (which repositories never have).
  const first = parts[0];
  const hasDomain = parts.length > 1 && (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase());
  if (hasDomain && !DOMAIN.test(first)) return `has an invalid registry host ${JSON.stringify(first)}: a DNS name or IP address, with an optional ":port"`;
  const path = hasDomain ? parts.slice(1) : parts;
  for (const component of path) {
    if (PATH_COMPONENT.test(component)) continue;
    if (PATH_COMPONENT.test(component.toLowerCase())) {
      return `has an upper-case repository ${JSON.stringify(path.join('/'))}; repositories are lower case: ${JSON.stringify(path.join('/').toLowerCase())}`;
    }
    return `has an invalid repository part ${JSON.stringify(component)}: lower-case letters and digits, separated by ".", "_", "__" or "-"`;
  }
  return undefined;
}
