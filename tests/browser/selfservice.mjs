// The self-service page in a real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), phone-sized, through nginx with TLS: sign in (a wrong password first), change
// the password of a legacy account, make an app password and log in over IMAP with it, revoke it
// and see IMAP refuse it, sign out. Prints "ok"/"FAIL" lines; exits 1 on any failure.
// env: BASE (https://…/account/), USER_NAME, OLD_PW, NEW_PW, IMAP_PORT, SHOTS (screenshot folder)
import net from 'node:net';
import { chromium } from 'playwright-core';

const { BASE, USER_NAME, OLD_PW, NEW_PW, IMAP_PORT, SHOTS } = process.env;
let failures = 0;
let shot = 0;

function check(name, ok, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok || !detail ? '' : `: ${detail}`}`);
  if (!ok) failures += 1;
}

// One IMAP LOGIN on the test's Dovecot: "OK", "NO" or "BAD".
function imapLogin(user, password) {
  const quote = (s) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(IMAP_PORT), '127.0.0.1');
    let buffer = '';
    let sent = false;
    socket.setTimeout(20000, () => { socket.destroy(); reject(new Error('IMAP timeout')); });
    socket.on('error', reject);
    socket.on('data', (data) => {
      buffer += data.toString('utf8');
      if (!sent && buffer.includes('\r\n')) {
        sent = true;
        buffer = '';
        socket.write(`a LOGIN ${quote(user)} ${quote(password)}\r\n`);
      } else if (sent) {
        const m = buffer.match(/^a (OK|NO|BAD)/m);
        if (m) {
          socket.end('b LOGOUT\r\n');
          resolve(m[1]);
        }
      }
    });
  });
}

async function screenshot(page, name) {
  shot += 1;
  await page.screenshot({ path: `${SHOTS}/${String(shot).padStart(2, '0')}-${name}.png`, fullPage: true });
}

async function text(page, selector) {
  const el = page.locator(selector);
  return (await el.count()) ? (await el.first().innerText()).trim() : '';
}

async function main() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--ignore-certificate-errors', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 390, height: 844 }, isMobile: true });
  const page = await context.newPage();
  const consoleErrors = [];
  // Refusals the page gives on purpose (401 for a wrong password) are console errors too: only
  // what the CSP blocked counts here.
  page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) consoleErrors.push(m.text()); });

  const first = await page.goto(BASE);
  const headers = first.headers();
  check('the sign-in page loads over TLS', first.status() === 200, String(first.status()));
  check('strict CSP (no script at all)', (headers['content-security-policy'] || '').includes("default-src 'none'"), headers['content-security-policy']);
  check('no framing, no caching', headers['x-frame-options'] === 'DENY' && headers['cache-control'] === 'no-store');
  check('HSTS from the shipped nginx snippet', (headers['strict-transport-security'] || '').startsWith('max-age='));
  await screenshot(page, 'sign-in');

  await page.fill('input[name=username]', USER_NAME);
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('#sign-in');
  check('a wrong password is refused', (await text(page, '#error')).includes('Wrong user name or password'), await text(page, 'body'));
  await screenshot(page, 'wrong-password');

  await page.fill('input[name=username]', USER_NAME);
  await page.fill('input[name=password]', OLD_PW);
  await page.click('#sign-in');
  check('signed in', (await text(page, '#user')) === USER_NAME, await text(page, 'body'));
  // Signing in already moved the md5-crypt hash to bcrypt (every login does): no warning.
  check('no old-scheme warning: the sign-in itself upgraded the hash', (await page.locator('.warn').count()) === 0);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === '__Host-authd-session');
  check('session cookie: __Host-, Secure, HttpOnly, SameSite=Strict',
    !!session && session.secure && session.httpOnly && session.sameSite === 'Strict' && session.path === '/',
    JSON.stringify(cookies));
  await screenshot(page, 'account');

  await page.fill('#password input[name=current]', OLD_PW);
  await page.fill('#password input[name=new]', NEW_PW);
  await page.fill('#password input[name=confirm]', NEW_PW);
  await page.click('#change-password');
  check('password changed', (await text(page, '#notice')).includes('password was changed'), await text(page, 'body'));
  await screenshot(page, 'password-changed');
  check('IMAP: the old password is refused', (await imapLogin(USER_NAME, OLD_PW)) === 'NO');
  check('IMAP: the new password logs in', (await imapLogin(USER_NAME, NEW_PW)) === 'OK');

  await page.fill('#app-passwords input[name=label]', 'Phone mail');
  await page.check('#app-passwords input[name=service][value=imap]');
  await page.fill('#app-passwords input[name=current]', NEW_PW);
  await page.click('#create-app-password');
  const secret = await text(page, '#new-app-password');
  check('an app password is shown once', /^[a-z2-9]{4}(-[a-z2-9]{2,4}){6}$/.test(secret), secret);
  await screenshot(page, 'app-password-made');
  check('IMAP: the app password logs in', (await imapLogin(USER_NAME, secret)) === 'OK');

  await page.goto(BASE);
  check('reloaded: the app password is not shown again', (await page.locator('#new-app-password').count()) === 0);
  const apps = await text(page, '#app-passwords table');
  check('its row: label, imap, last used over imap', apps.includes('Phone mail') && /imap/.test(apps) && !apps.includes('never (') , apps);
  const logins = await text(page, '#logins');
  check('recent logins show the IMAP login with the app password', logins.includes('app password') && logins.includes('Phone mail'), logins);
  check('recent logins show the sign-in to this page', logins.includes('selfservice'), logins);
  await screenshot(page, 'recent-logins');

  await page.click('#app-passwords button.danger');
  check('revoked', (await text(page, '#notice')).includes('revoked'), await text(page, 'body'));
  await screenshot(page, 'revoked');
  check('IMAP: the revoked app password is refused at once', (await imapLogin(USER_NAME, secret)) === 'NO');

  await page.click('#sign-out');
  check('signed out: the sign-in form again', (await page.locator('#sign-in').count()) === 1);
  await page.goto(BASE);
  check('... and the session is gone', (await page.locator('#user').count()) === 0);
  check('nothing on the page was blocked by its CSP', consoleErrors.length === 0, consoleErrors.join(' | '));
  await browser.close();
}

main().then(() => {
  console.log(failures ? `selfservice browser: FAIL (${failures})` : 'selfservice browser: PASS');
  process.exit(failures ? 1 : 0);
}, (e) => {
  console.log(`FAIL exception: ${e.stack || e}`);
  process.exit(1);
});
