// Loads examples/terminal-web/ in headless Chromium (Debian's, driven by
// playwright-core), on the scanner package installed from its npm tarball, and checks
// what a terminal vendor relies on: P-256 signatures go to WebCrypto; it refuses to run
// without a configured root (never the demo keys), loads and refreshes lists from a
// published directory (a revoked phone is refused; a stale mirror cannot roll the list
// back, not even across a reload: the lists it held come back from IndexedDB), verifies
// on its own clock, takes scans back to back, shows a printed code and a guardian's code
// distinctly, decodes a QR image with zxing-wasm (no BarcodeDetector on Linux), in
// Chinese and in English. Screenshots go to target/terminal-web/.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { spawnSync } from "node:child_process";
import { readFile, mkdir } from "node:fs/promises";
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const shots = path.join(root, "target", "terminal-web");
const vectors = JSON.parse(readFileSync(path.join(root, "test-vectors", "codes.json"), "utf8"));
const demo = JSON.parse(readFileSync(path.join(root, "test-vectors", "holder.json"), "utf8"));
const good = vectors.cases.find((c) => c.name === "accept_metro_gate");
const bad = vectors.cases.find((c) => c.name === "flipped_bit_device_signature");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".json": "application/json", ".wasm": "application/wasm" };

let server, browser, origin;
// Which publication the mirror serves under /lists/: test-vectors/lists/<n>/.
let publication = "1";
const CONFIGS = {
  "good.json": JSON.stringify({ root_key: demo.root_key, root_alg: "ed25519", lists_url: "/lists/", refresh_secs: 600 }),
  "malformed.json": "{ root_key: ",
  "no-root.json": JSON.stringify({ lists_url: "/lists/" }),
  "negative-skew.json": JSON.stringify({ root_key: demo.root_key, skew_secs: -30, lists_url: "/lists/" }),
  // A misspelt gm_only, and gm_only on the scanner package, which has no SM2: refused.
  "misspelt.json": JSON.stringify({ root_key: demo.root_key, root_alg: "ed25519", gm_ony: true, lists_url: "/lists/" }),
  "gm-only.json": JSON.stringify({ root_key: demo.root_key, root_alg: "ed25519", gm_only: true, lists_url: "/lists/" }),
};
// A test vector's verifier object (core's VerifierConfig) is a terminal configuration.
const vectorConfig = (name) => {
  const { trust_lists: _t, revocation_lists: _r, ...config } = vectors.cases.find((c) => c.name === name).verifier;
  return JSON.stringify({ ...config, lists_url: "/lists/", refresh_secs: 600 });
};
CONFIGS["no-skew.json"] = vectorConfig("code_expired_without_skew");

before(async () => {
  server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    let file;
    if (url.pathname.startsWith("/test-config/")) {
      const body = CONFIGS[url.pathname.slice("/test-config/".length)];
      if (body === undefined) { res.writeHead(404).end(); return; }
      res.writeHead(200, { "content-type": "application/json" }).end(body);
      return;
    }
    if (url.pathname.startsWith("/lists/")) {
      file = path.join(root, "test-vectors", "lists", publication, path.basename(url.pathname));
    } else {
      file = path.join(root, path.normalize(decodeURIComponent(url.pathname)));
    }
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" }).end(body);
    } catch { res.writeHead(404).end(); }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  origin = `http://127.0.0.1:${server.address().port}`;
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

const page_url = (query) => `${origin}/examples/terminal-web/index.html?${query}`;

async function open(query, lang = "zh") {
  const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.errors = errors;
  await page.goto(page_url(`lang=${lang}&${query}`));
  await page.waitForSelector("body[data-ready]");
  return page;
}

async function result(page, scans) {
  await page.waitForFunction((n) => document.querySelector("#result").dataset.scan === String(n), scans);
  return {
    outcome: await page.getAttribute("#result", "data-outcome"),
    cls: await page.getAttribute("#result", "class"),
    verdict: await page.textContent("#result-verdict"),
    reason: await page.textContent("#result-reason"),
    claims: await page.textContent("#result-claims"),
  };
}

// A keyboard-wedge scanner: types the code and presses Enter into whatever has focus.
async function wedge(page, text) {
  await page.keyboard.insertText(text);
  await page.keyboard.press("Enter");
}

const configured = `config=/test-config/good.json&scene=metro_gate&test_clock=${good.now}`;

for (const lang of ["zh", "en"]) {
  test(`terminal page (${lang}): accepts a good code, rejects a bad one, full screen`, async () => {
    publication = "1";
    const page = await open(configured, lang);
    assert.equal(await page.getAttribute("body", "data-ready"), "true", await page.textContent("#status"));
    assert.equal(await page.getAttribute("#lists", "data-sequences"), "trust-list.bin:1,revocation-root.bin:1");

    await wedge(page, good.input);
    const ok = await result(page, 1);
    assert.equal(ok.outcome, "accept");
    assert.match(ok.cls, /accept/);
    assert.equal(ok.verdict, lang === "zh" ? "通过" : "Accepted");
    assert.match(ok.claims, lang === "zh" ? /交通账户: 正常 · 老年人免费/ : /Transit: active · senior, free/);
    const box = await page.locator("#result").boundingBox();
    assert.deepEqual([box.width, box.height], [800, 600], "the verdict covers the screen");
    await page.screenshot({ path: path.join(shots, `accept-${lang}.png`) });

    // The next scan comes while the verdict is showing: it replaces it.
    await wedge(page, good.input);
    const again = await result(page, 2);
    assert.equal(again.outcome, "replayed");
    assert.equal(again.reason, lang === "zh" ? "该城市码已使用" : "Code already used");
    await wedge(page, bad.input);
    const no = await result(page, 3);
    assert.equal(no.outcome, "bad_device_signature");
    assert.match(no.cls, /reject/);
    assert.equal(no.verdict, lang === "zh" ? "拒绝" : "Rejected");
    assert.equal(no.reason, lang === "zh" ? "设备签名无效" : "Invalid device signature");
    await page.screenshot({ path: path.join(shots, `reject-${lang}.png`) });

    await page.click("#dismiss");
    await page.selectOption("#scene", "hospital");
    await page.fill("#code", vectors.cases.find((c) => c.name === "accept_parking").input);
    await page.click("#verify");
    assert.equal((await result(page, 4)).outcome, "policy_unmet");
    assert.deepEqual(page.errors, []);
    await page.close();
  });
}

for (const lang of ["zh", "en"]) {
  test(`terminal page (${lang}): a printed code has its own screen, never the plain tick; a guardian's names the relation`, async () => {
    publication = "1";
    const printed = vectors.cases.find((c) => c.name === "accept_printed_hospital");
    const guardian = vectors.cases.find((c) => c.name === "accept_guardian_hospital");
    const phone = vectors.cases.find((c) => c.name === "accept_hospital");
    assert.equal(printed.printed, true);
    assert.equal(guardian.claims.guardian.relation, "child");
    const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.clock.install(); // the screens' timers, moved on by the test
    await page.goto(page_url(`lang=${lang}&config=/test-config/good.json&scene=hospital&test_clock=${printed.now}`));
    await page.waitForSelector("body[data-ready]");
    const screen = async () => ({
      screen: await page.getAttribute("#result", "data-screen"), cls: await page.getAttribute("#result", "class"),
      mark: await page.textContent("#result-mark"), verdict: await page.textContent("#result-verdict"),
      reason: await page.textContent("#result-reason"), claims: await page.textContent("#result-claims"),
      button: await page.textContent("#dismiss"), guardian: await page.getAttribute("#result", "data-guardian"),
    });

    // A printed code: accepted, but on a screen of its own that says to check the ID card.
    await wedge(page, printed.input);
    assert.equal((await result(page, 1)).outcome, "accept");
    const p = await screen();
    assert.equal(p.screen, "printed");
    assert.doesNotMatch(p.cls, /\baccept\b/);
    assert.notEqual(p.mark, "✓");
    assert.equal(p.verdict, lang === "zh" ? "纸质码：请核验身份证" : "Printed code: check the ID card");
    assert.match(p.reason, lang === "zh" ? /身份证/ : /ID card/);
    assert.match(p.claims, new RegExp(`${lang === "zh" ? "姓名" : "Name"}: ${printed.claims.identity.name}`));
    assert.equal(p.button, lang === "zh" ? "已核验身份证" : "ID card checked");
    const colour = await page.$eval("#result", (el) => getComputedStyle(el).backgroundColor);
    await page.screenshot({ path: path.join(shots, `printed-${lang}.png`) });
    // It waits for the staff: still there long after an accept would have cleared.
    await page.clock.fastForward(10_000);
    assert.equal(await page.isVisible("#result"), true, "a printed code's screen stays until the ID card is checked");
    await page.click("#dismiss");
    assert.equal(await page.isVisible("#result"), false);

    // A guardian's code: accepted, with the relation said in words.
    await wedge(page, guardian.input);
    assert.equal((await result(page, 2)).outcome, "accept");
    const g = await screen();
    assert.equal(g.screen, "accept");
    assert.match(g.cls, /\baccept\b/);
    assert.match(g.cls, /\bguardian\b/);
    assert.equal(g.guardian, "child");
    assert.equal(g.mark, "✓");
    assert.equal(g.reason, lang === "zh" ? "亲友代为出示：子女" : "Shown by the holder's son or daughter");
    assert.doesNotMatch(g.claims, /亲友|guardian/i);
    await page.screenshot({ path: path.join(shots, `guardian-${lang}.png`) });

    // The holder's own phone: the plain tick, no relation, another colour than printed.
    await wedge(page, phone.input);
    assert.equal((await result(page, 3)).outcome, "accept");
    const own = await screen();
    assert.deepEqual([own.screen, own.mark, own.reason, own.guardian], ["accept", "✓", "", ""]);
    assert.notEqual(await page.$eval("#result", (el) => getComputedStyle(el).backgroundColor), colour);
    await page.clock.fastForward(7_000);
    assert.equal(await page.isVisible("#result"), false, "an accept clears itself");
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test("terminal page: the lists it held survive a reload, so a stale mirror cannot bring back a revoked phone", async () => {
  const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
  const errors = [];
  const load = async (page) => {
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(page_url(`lang=en&${configured}`));
    await page.waitForSelector("body[data-ready]");
    assert.equal(await page.getAttribute("body", "data-ready"), "true", await page.textContent("#status"));
    return page;
  };
  const codes = ["scanner_crlf", "scanner_lf"].map((n) => vectors.cases.find((c) => c.name === n).input.trimEnd());
  // Publication 2 revokes the demo phone; the terminal fetches and keeps it.
  publication = "2";
  let page = await load(await context.newPage());
  assert.equal(await page.getAttribute("body", "data-restored"), "", "a new terminal has nothing stored");
  assert.equal(await page.getAttribute("#lists", "data-sequences"), "trust-list.bin:1,revocation-root.bin:2");
  await wedge(page, good.input);
  assert.equal((await result(page, 1)).outcome, "revoked");

  // The page reloads (a power cut) and the load balancer now sends it to a stale mirror
  // serving publication 1, unexpired, in which the phone is not revoked.
  publication = "1";
  await page.reload();
  await page.waitForSelector("body[data-ready]");
  assert.equal(await page.getAttribute("body", "data-restored"), "trust-list.bin,revocation-root.bin");
  assert.equal(await page.getAttribute("#lists", "data-sequences"), "trust-list.bin:1,revocation-root.bin:2");
  assert.match(await page.getAttribute("#lists", "data-error"), /stale mirror: revocation-root.bin #1 < #2/);
  await wedge(page, good.input);
  assert.equal((await result(page, 1)).outcome, "revoked");
  await page.screenshot({ path: path.join(shots, "reload-stale-mirror-en.png") });
  await page.close();

  // Another reload with the mirror gone: the terminal still holds (and enforces) its lists.
  publication = "missing";
  page = await load(await context.newPage());
  assert.match(await page.getAttribute("#lists", "data-error"), /HTTP 404/);
  assert.equal(await page.getAttribute("#lists", "data-sequences"), "trust-list.bin:1,revocation-root.bin:2");
  await wedge(page, codes[0]);
  assert.equal((await result(page, 1)).outcome, "revoked");
  await page.close();
  await context.close();

  // The control: a terminal without that storage takes the stale publication and accepts.
  publication = "1";
  const bare = await browser.newPage();
  await bare.goto(page_url(`lang=en&${configured}`));
  await bare.waitForSelector("body[data-ready]");
  await wedge(bare, codes[1]);
  assert.equal((await result(bare, 1)).outcome, "accept");
  await bare.close();
  assert.deepEqual(errors, []);
});

test("terminal page: runs on the installed npm package and checks P-256 device signatures with WebCrypto", async () => {
  publication = "1";
  const p256 = vectors.cases.find((c) => c.name === "accept_metro_gate_p256_device");
  const forged = vectors.cases.find((c) => c.name === "p256_device_signature_bad");
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const requested = [];
  page.on("request", (r) => requested.push(new URL(r.url()).pathname));
  // Count the signatures the page hands to WebCrypto.
  await page.addInitScript(() => {
    const subtle = globalThis.crypto.subtle;
    const real = subtle.verify;
    globalThis.hostChecks = 0;
    subtle.verify = function (...args) {
      globalThis.hostChecks += 1;
      return real.apply(this, args);
    };
  });
  await page.goto(page_url(`lang=en&${configured}`));
  await page.waitForSelector("body[data-ready]");
  assert.equal(await page.getAttribute("body", "data-ready"), "true", await page.textContent("#status"));
  const pkg = "/examples/terminal-web/node_modules/citycode-verifier/";
  for (const file of ["index.js", "citycode_wasm.js", "webcrypto.js", "citycode_wasm_bg.wasm"]) {
    assert.ok(requested.includes(pkg + file), `${file} from the installed package: ${requested.join(" ")}`);
  }
  assert.ok(!requested.some((p) => p.includes("/target/")), "nothing from the build tree");

  await wedge(page, p256.input);
  assert.equal((await result(page, 1)).outcome, "accept");
  assert.equal(await page.evaluate(() => globalThis.hostChecks), 1);
  await wedge(page, forged.input);
  assert.equal((await result(page, 2)).outcome, "bad_device_signature");
  assert.equal(await page.evaluate(() => globalThis.hostChecks), 2);
  // An Ed25519 code needs no WebCrypto.
  await wedge(page, good.input);
  assert.equal((await result(page, 3)).outcome, "accept");
  assert.equal(await page.evaluate(() => globalThis.hostChecks), 2);
  assert.deepEqual(errors, []);
  await page.close();
});

test("terminal page: without a valid configured root it refuses to run, never trusting the demo keys", async () => {
  for (const [query, detail] of [["", /config/], ["config=/test-config/malformed.json", /config/], ["config=/test-config/no-root.json", /root_key/], ["config=/test-config/negative-skew.json", /skew_secs/],
    ["config=/test-config/misspelt.json", /unknown field gm_ony/], ["config=/test-config/gm-only.json", /gm_only/]]) {
    const page = await open(`${query}&test_clock=${good.now}`);
    assert.equal(await page.getAttribute("body", "data-ready"), "unconfigured", query);
    assert.equal(await page.getAttribute("#result", "data-outcome"), "unconfigured");
    assert.match(await page.textContent("#result-claims"), detail);
    assert.equal(await page.textContent("#result-verdict"), "终端未配置");
    // A demo code typed by a scanner changes nothing: nothing verifies it.
    await wedge(page, good.input);
    assert.equal(await page.getAttribute("#result", "data-outcome"), "unconfigured");
    if (!query) await page.screenshot({ path: path.join(shots, "unconfigured-zh.png") });
    await page.close();
  }
});

test("terminal page: a test vector's verifier configuration configures the terminal (skew 0, scene object)", async () => {
  publication = "1";
  for (const [name, outcome] of [["code_last_second_without_skew", "accept"], ["code_expired_without_skew", "code_expired"]]) {
    const c = vectors.cases.find((x) => x.name === name);
    const page = await open(`config=/test-config/no-skew.json&test_clock=${c.now}`);
    assert.equal(await page.getAttribute("body", "data-ready"), "true", await page.textContent("#status"));
    assert.equal(await page.inputValue("#scene"), "metro_gate");
    await wedge(page, c.input);
    assert.equal((await result(page, 1)).outcome, outcome, name);
    assert.deepEqual(page.errors, []);
    await page.close();
  }
});

test("terminal page: a revocation published later is fetched, and a stale mirror cannot undo it", async () => {
  publication = "1";
  const page = await open(configured);
  await wedge(page, good.input);
  assert.equal((await result(page, 1)).outcome, "accept");
  // Publication 2 revokes the demo phone; the scheduled refresh fetches it.
  publication = "2";
  await page.evaluate(() => window.citycodeRefreshLists());
  assert.equal(await page.getAttribute("#lists", "data-sequences"), "trust-list.bin:1,revocation-root.bin:2");
  const fresh = vectors.cases.find((c) => c.name === "scanner_crlf").input.trimEnd();
  await wedge(page, fresh);
  const revoked = await result(page, 2);
  assert.equal(revoked.outcome, "revoked");
  assert.equal(revoked.reason, "凭证已被吊销");
  // A stale mirror serves publication 1 again: the older list is refused, the newer stays.
  publication = "1";
  await page.evaluate(() => window.citycodeRefreshLists());
  assert.equal(await page.getAttribute("#lists", "data-sequences"), "trust-list.bin:1,revocation-root.bin:2");
  assert.match(await page.getAttribute("#lists", "data-error"), /stale mirror: revocation-root.bin #1 < #2/);
  await wedge(page, vectors.cases.find((c) => c.name === "scanner_lf").input.trimEnd());
  assert.equal((await result(page, 3)).outcome, "revoked");
  // The mirror vanishes: the terminal keeps the lists it holds.
  publication = "missing";
  await page.evaluate(() => window.citycodeRefreshLists());
  assert.match(await page.getAttribute("#lists", "data-error"), /HTTP 404/);
  assert.equal(await page.getAttribute("#lists", "data-sequences"), "trust-list.bin:1,revocation-root.bin:2");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("terminal page: lists past their expiry stop every acceptance", async () => {
  publication = "1";
  const list = readFileSync(path.join(root, "test-vectors", "lists", "1", "status.json"), "utf8");
  const revocationExpiry = JSON.parse(list).files.find((f) => f.file === "revocation-root.bin").expires_at;
  const page = await open(`config=/test-config/good.json&scene=metro_gate&test_clock=${revocationExpiry}`);
  await wedge(page, good.input);
  const r = await result(page, 1);
  // The code is stale by then too; the list check comes first (SPEC.md §9 step 2).
  assert.equal(r.outcome, "revocation_list_expired");
  assert.match(await page.getAttribute("#lists", "class"), /stale/);
  await page.close();
});

test("terminal page: a QR image is decoded by zxing-wasm, with no BarcodeDetector", async () => {
  const cli = path.join(root, "target", "debug", "citycode");
  assert.ok(existsSync(cli), "build the CLI first (cargo build -p citycode-cli)");
  const png = path.join(shots, "code.png");
  const made = spawnSync(cli, ["render", good.input, "--format", "png", "--out", png, "--scale", "4"]);
  assert.equal(made.status, 0, String(made.stderr));
  publication = "1";
  const page = await open(configured);
  assert.equal(await page.evaluate(() => "BarcodeDetector" in window), false, "Chromium on Linux has no BarcodeDetector");
  await page.setInputFiles("#image", png);
  const r = await result(page, 1);
  assert.equal(r.outcome, "accept");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("terminal page: the camera path decodes live frames (Chromium's fake camera showing a code)", async () => {
  // The frames: a rendered code, turned into a one-frame Y4M video by a browser canvas.
  const cli = path.join(root, "target", "debug", "citycode");
  const code = vectors.cases.find((c) => c.name === "accept_hospital");
  const png = path.join(shots, "camera-code.png");
  const made = spawnSync(cli, ["render", code.input, "--format", "png", "--out", png, "--scale", "4"]);
  assert.equal(made.status, 0, String(made.stderr));
  const helper = await browser.newPage();
  await helper.goto(`${origin}/examples/terminal-web/index.html?config=/test-config/none`);
  const { width, luma } = await helper.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement("canvas");
    c.width = img.width; c.height = img.height;
    const ctx = c.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const rgba = ctx.getImageData(0, 0, c.width, c.height).data;
    return { width: c.width, luma: Array.from({ length: c.width * c.height }, (_, i) => rgba[4 * i]) };
  }, readFileSync(png).toString("base64"));
  await helper.close();
  // Centre the symbol on a 640x480 white frame (even sizes, as 4:2:0 needs).
  const W = 640, H = 480, x0 = (W - width) >> 1, y0 = (H - width) >> 1;
  const y = Buffer.alloc(W * H, 255);
  for (let r = 0; r < width; r++) for (let c = 0; c < width; c++) y[(y0 + r) * W + x0 + c] = luma[r * width + c];
  const chroma = Buffer.alloc((W / 2) * (H / 2), 128);
  const y4m = path.join(shots, "camera.y4m");
  const { writeFileSync } = await import("node:fs");
  writeFileSync(y4m, Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\nFRAME\n`), y, chroma, chroma]));

  const camera = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-video-capture=${y4m}`],
  });
  try {
    const page = await camera.newPage({ viewport: { width: 800, height: 600 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    publication = "1";
    await page.goto(page_url(`config=/test-config/good.json&scene=hospital&test_clock=${code.now}`));
    await page.waitForSelector("body[data-ready]");
    await page.click("#camera");
    const r = await result(page, 1);
    assert.equal(r.outcome, "accept", await page.textContent("#status"));
    assert.match(r.claims, /健康码: 绿码/);
    await page.screenshot({ path: path.join(shots, "camera-accept-zh.png") });
    // The same code stays in front of the camera: verified once, not once per frame.
    await page.waitForTimeout(1000);
    assert.equal(await page.getAttribute("#result", "data-scan"), "1");
    assert.deepEqual(errors, []);
  } finally {
    await camera.close();
  }
});
