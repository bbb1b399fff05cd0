// Loads examples/terminal-web/ in headless Chromium (Debian's, driven by
// playwright-core), verifies a good and a bad code, and checks what the page shows, in
// Chinese and in English. Keeps screenshots in target/terminal-web/.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { readFile, mkdir } from "node:fs/promises";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const shots = path.join(root, "target", "terminal-web");
const vectors = JSON.parse(readFileSync(path.join(root, "test-vectors", "codes.json"), "utf8"));
const good = vectors.cases.find((c) => c.name === "accept_metro_gate");
const bad = vectors.cases.find((c) => c.name === "flipped_bit_device_signature");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".wasm": "application/wasm" };

let server, browser, base;

before(async () => {
  server = http.createServer(async (req, res) => {
    const p = path.normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    const file = path.join(root, p);
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" }).end(body);
    } catch { res.writeHead(404).end(); }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${server.address().port}/examples/terminal-web/index.html`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  await mkdir(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.close();
});

async function scan(page, text) {
  await page.fill("#code", text);
  await page.click("#verify");
  await page.waitForSelector("#result:not([hidden])");
  return {
    outcome: await page.getAttribute("#result", "data-outcome"),
    cls: await page.getAttribute("#result", "class"),
    verdict: await page.textContent("#result-verdict"),
    reason: await page.textContent("#result-reason"),
    claims: await page.textContent("#result-claims"),
  };
}

for (const lang of ["zh", "en"]) {
  test(`terminal page (${lang}): accepts a good code, rejects a bad one, full screen`, async () => {
    const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${base}?scene=metro_gate&lang=${lang}&now=${good.now}`);
    await page.waitForSelector("body[data-ready]");
    assert.equal(await page.getAttribute("body", "data-ready"), "true", await page.textContent("#status"));

    const ok = await scan(page, good.input);
    assert.equal(ok.outcome, "accept");
    assert.match(ok.cls, /accept/);
    assert.equal(ok.verdict, lang === "zh" ? "通过" : "Accepted");
    assert.match(ok.claims, lang === "zh" ? /交通账户: 正常 · 老年人免费/ : /Transit: active · senior, free/);
    const box = await page.locator("#result").boundingBox();
    assert.deepEqual([box.width, box.height], [800, 600], "the verdict covers the screen");
    await page.screenshot({ path: path.join(shots, `accept-${lang}.png`) });

    await page.click("#dismiss");
    const again = await scan(page, good.input);
    assert.equal(again.outcome, "replayed");
    assert.equal(again.reason, lang === "zh" ? "该城市码已使用" : "Code already used");

    await page.click("#dismiss");
    const no = await scan(page, bad.input);
    assert.equal(no.outcome, "bad_device_signature");
    assert.match(no.cls, /reject/);
    assert.equal(no.verdict, lang === "zh" ? "拒绝" : "Rejected");
    assert.equal(no.reason, lang === "zh" ? "设备签名无效" : "Invalid device signature");
    await page.screenshot({ path: path.join(shots, `reject-${lang}.png`) });

    await page.click("#dismiss");
    await page.selectOption("#scene", "hospital");
    const wrong = await scan(page, vectors.cases.find((c) => c.name === "accept_parking").input);
    assert.equal(wrong.outcome, "policy_unmet");
    assert.deepEqual(errors, []);
    await page.close();
  });
}
