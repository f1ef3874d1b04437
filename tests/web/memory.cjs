// Browsers for tests/web/memory.sh: one page stays open on a live workflow;
// with RELOAD=1 another reloads it every 20 s (each load reads the whole history).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const puppeteer = require(process.env.PUPPETEER_DIR);
(async () => {
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    userDataDir: fs.mkdtempSync(path.join(process.env.WEB_WORK, 'chromium-')),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const url = `${process.env.WEB_URL}/#/workflow/${process.env.WORKFLOW}`;
  const stay = await browser.newPage();
  await stay.goto(url);
  const reload = process.env.RELOAD === '1' ? await browser.newPage() : null;
  const until = Date.now() + Number(process.env.SECONDS_OPEN) * 1000;
  while (Date.now() < until) {
    if (reload) {
      await reload.goto('about:blank');
      await reload.goto(url);
    }
    await new Promise((r) => setTimeout(r, 20000));
  }
  const bars = await stay.$$eval('svg g.bar.activity', (b) => b.length);
  console.log(`the page that stayed open drew ${bars} activity bars`);
  await browser.close();
})();
