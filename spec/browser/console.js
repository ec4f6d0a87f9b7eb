// Runs JavaScript snippets in headless Chromium, as if typed into the browser console of a page,
// and prints what the page logs to its console, one JSON string per line.
//
//   node spec/browser/console.js URL SECONDS SNIPPET_FILE...
//
// Uses Debian's /usr/bin/chromium (never downloads a browser). Exits after SECONDS.
const { chromium } = require("../../node_modules/playwright-core");
const fs = require("fs");

const [url, seconds, ...files] = process.argv.slice(2);

(async () => {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    page.on("console", (msg) => console.log(JSON.stringify(msg.text())));
    page.on("pageerror", (err) => console.log(JSON.stringify("pageerror: " + err.message)));
    await page.goto(url);
    for (const file of files) await page.addScriptTag({ content: fs.readFileSync(file, "utf8") });
    await new Promise((resolve) => setTimeout(resolve, Number(seconds) * 1000));
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
