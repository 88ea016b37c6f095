import { classifyClient, humanDuration, wakerResponse, type PageInput } from '../../lambda/waker/page';

const input = (headers: Record<string, string>, extra: Partial<PageInput> = {}): PageInput => ({
  request: { method: 'GET', headers },
  phase: 'waking',
  stagingName: 'feature-x-1a2b3c4d',
  branch: 'feature/x',
  expectedSeconds: 130,
  elapsedSeconds: 0,
  ...extra,
});

describe('classifyClient', () => {
  test.each([
    ['Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)', '*/*'],
    ['facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)', 'text/html'],
    ['Twitterbot/1.0', 'text/html'],
    ['Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)', 'text/html'],
    ['Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)', '*/*'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0 Safari/537.36 (compatible; Discordbot/2.0)', 'text/html'],
    ['LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)', 'text/html'],
  ])('%s is a previewer, whatever it accepts', (agent, accept) => {
    expect(classifyClient({ method: 'GET', headers: { 'user-agent': agent, accept } })).toBe('previewer');
  });

  test.each([
    ['Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0', 'text/html,application/xhtml+xml,*/*;q=0.8', 'browser'],
    ['Mozilla/5.0 (Macintosh) Firefox/133.0', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'browser'],
    ['curl/8.5.0', '*/*', 'other'],
    ['python-requests/2.32', 'application/json', 'other'],
    ['GitHub-Hookshot/abc', '*/*', 'other'],
    ['', '', 'other'],
  ])('%s accepting %s is %s', (agent, accept, expected) => {
    expect(classifyClient({ method: 'GET', headers: { 'user-agent': agent, accept } })).toBe(expected);
  });
});

describe('wakerResponse', () => {
  test('a browser\'s page refreshes itself every 5 seconds (REFRESH_SECONDS); a previewer\'s does not refresh', () => {
    const browser = wakerResponse(input({ accept: 'text/html' })).body;
    expect(browser).toContain('<meta http-equiv="refresh" content="5">');
    expect(browser).toContain('refreshes every 5 seconds');
    expect(wakerResponse(input({ accept: 'text/html', 'user-agent': 'Slackbot-LinkExpanding 1.0' })).body).not.toContain('http-equiv="refresh"');
    expect(wakerResponse(input({ accept: 'text/html' }, { refreshSeconds: 1 })).body).toContain('<meta http-equiv="refresh" content="1">');
  });

  test('names a branch with markup in its name without letting the markup in', () => {
    const body = wakerResponse(input({ accept: 'text/html' }, { branch: 'fix/<script>alert(1)</script>' })).body;
    expect(body).toContain('fix/&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(body).not.toContain('<script>');
  });

  test('HEAD gets the headers of the page and no body', () => {
    const r = wakerResponse({ ...input({ accept: 'text/html' }), request: { method: 'HEAD', headers: { accept: 'text/html' } } });
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe('');
  });

  test('Retry-After follows the remaining time, between 5 and 60 seconds', () => {
    const retry = (elapsedSeconds: number, expectedSeconds = 130) =>
      wakerResponse(input({ accept: '*/*' }, { elapsedSeconds, expectedSeconds })).headers['Retry-After'];
    expect(retry(0)).toBe('60');
    expect(retry(100)).toBe('30');
    expect(retry(500)).toBe('5');
  });

  test('says how long it takes', () => {
    expect(humanDuration(40)).toBe('about 40 seconds');
    expect(humanDuration(130)).toBe('about 2 minutes');
    expect(humanDuration(490)).toBe('about 8 minutes');
    expect(wakerResponse(input({ accept: 'text/html' }, { elapsedSeconds: 60 })).body).toMatch(/This takes about 2 minutes; about 70 seconds to go\./);
  });
});
