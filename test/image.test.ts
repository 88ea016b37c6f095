import { imageReferenceProblem } from '../lib/contract/image';

describe('imageReferenceProblem: image references as Docker parses them', () => {
  test.each([
    'nginx',
    'nginx:1.27',
    'library/nginx:latest',
    'public.ecr.aws/docker/library/nginx:1.27',
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:3f2a1bc',
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app_x__y--z.1:v1.0-rc_1',
    'localhost:5000/app:Latest',
    'localhost/app',
    'Registry.Example.com/app:1',
    '[::1]:5000/app:1',
    `ghcr.io/owner/app@sha256:${'a'.repeat(64)}`,
    `ghcr.io/owner/app:1.0@sha256:${'a'.repeat(64)}`,
  ])('accepts %s', (ref) => {
    expect(imageReferenceProblem(ref)).toBeUndefined();
  });

  test.each([
    ['', /^is empty$/],
    ['nginx 1.27', /white space/],
    ['https://public.ecr.aws/docker/library/nginx:1.27', /^starts with "https:\/\/"; .*drop it, "public\.ecr\.aws\/docker\/library\/nginx:1\.27"$/],
    ['MyApp:Latest', /^has an upper-case repository "MyApp"; repositories are lower case: "myapp"$/],
    ['ghcr.io/Owner/App:1', /upper-case repository "Owner\/App"/],
    ['nginx:', /empty tag after ":"/],
    ['nginx:.hidden', /invalid tag "\.hidden"/],
    [`nginx:${'t'.repeat(129)}`, /invalid tag/],
    ['nginx@sha256:abc', /digest that is not algorithm:hex/],
    ['app..x:1', /invalid repository part "app\.\.x"/],
    ['-app:1', /invalid repository part "-app"/],
    ['ex_ample.com/app:1', /invalid registry host "ex_ample\.com"/],
    [':1.27', /no repository name/],
    [`${'a'.repeat(256)}:1`, /256 characters/],
  ])('refuses %j', (ref, reason) => {
    expect(imageReferenceProblem(ref)).toMatch(reason);
  });
});
