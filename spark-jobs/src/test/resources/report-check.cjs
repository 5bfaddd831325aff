// Opens a Kiln HTML report in headless Chromium with every request to the network refused, waits for its
// charts, and prints one JSON object: what each chart drew, the numbers the page shows, and every request or
// console error seen. Saves a full-page PNG screenshot.
//   node report-check.cjs <chromium> <report.html> <screenshot.png>
// (NODE_PATH points at the node_modules holding puppeteer-core; scripts/setup-browser.sh prints both.)
const puppeteer = require('puppeteer-core');
const url = require('url');

(async () => {
  const [chromium, report, screenshot] = process.argv.slice(2);
  const browser = await puppeteer.launch({executablePath: chromium, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});
  const seen = {blocked: [], failed: [], consoleErrors: [], pageErrors: []};
  try {
    const page = await browser.newPage();
    await page.setViewport({width: 1200, height: 900});
    await page.setRequestInterception(true);
    page.on('request', r => {
      const u = r.url();
      if (u.startsWith('file:') || u.startsWith('data:') || u.startsWith('blob:') || u.startsWith('about:')) {
        r.continue();
      } else {
        seen.blocked.push(u);
        r.abort('internetdisconnected');
      }
    });
    page.on('requestfailed', r => seen.failed.push(r.url() + ' ' + (r.failure() || {}).errorText));
    page.on('console', m => { if (m.type() === 'error') seen.consoleErrors.push(m.text()); });
    page.on('pageerror', e => seen.pageErrors.push(String(e)));
    await page.goto(url.pathToFileURL(report).href, {waitUntil: 'load'});
    await page.waitForFunction(() => window.kilnCharts
        && window.kilnCharts.drawn + window.kilnCharts.failed.length === window.kilnCharts.expected, {timeout: 120000});
    const result = await page.evaluate(() => {
      const charts = [...document.querySelectorAll('div.chart')].map(div => {
        const svg = div.querySelector('svg');
        const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
        return {
          id: div.id,
          title: div.parentElement.querySelector('figcaption').textContent,
          svg: !!svg, width: box.width, height: box.height,
          // Data marks only (axes, grid lines and legends have roles of their own).
          marks: svg ? svg.querySelectorAll('g.role-mark > path, g.role-mark > line').length : 0,
          axisTitles: svg ? [...svg.querySelectorAll('.role-axis-title text')].map(t => t.textContent) : [],
        };
      });
      const numbers = [...document.querySelectorAll('.kiln-number')].map(n => ({metric: n.dataset.metric,
        value: n.dataset.value, text: n.textContent}));
      return {title: document.title, expected: window.kilnCharts.expected, drawn: window.kilnCharts.drawn,
        chartErrors: window.kilnCharts.failed, charts, numbers};
    });
    await page.screenshot({path: screenshot, fullPage: true});
    console.log(JSON.stringify(Object.assign(result, seen)));
  } finally {
    await browser.close();
  }
})().catch(e => { console.error(String(e && e.stack || e)); process.exit(1); });
