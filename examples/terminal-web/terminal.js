// A scanning terminal page on the citycode scanner package. It refuses to run without a
// configured root key, loads the trust and revocation lists from a published directory
// (`citycode publish`) and refreshes them on a schedule, verifies with the terminal's own
// clock, takes codes from a keyboard-wedge scanner (back to back: a new scan replaces the
// verdict on screen), a paste, the camera or an image (zxing-wasm decodes frames, so it
// works where the browser has no BarcodeDetector), and shows a full-screen accept, a
// printed code's "check the ID card" (never the plain tick) or a reject, in Chinese or
// English, naming the relation when a guardian shows the code. The lists it holds are
// kept in IndexedDB and loaded back at start, so a reload against a stale mirror cannot
// take back a revocation.
//
// Configuration: config.json beside the page, or the file named by ?config=: core's
// VerifierConfig (SPEC.md §14, the `verifier` object of a test vector) and where the
// lists are:
//   { "root_key": hex, "root_alg": "ed25519" | "ecdsa_p256_sha256",
//     "scene": {"kind": "metro_gate"}, "skew_secs": 30, "max_code_validity_secs": 120,
//     "utc_offset_minutes": 480, "allow_missing_revocation_list": false,
//     "lists_url": "lists/", "refresh_secs": 300 }
// Only root_key is required (root_alg defaults to ed25519; `scene` may also be a kind
// name). `lists_url` (relative to the config file) holds what `citycode publish` writes.
// A field of the wrong type makes the terminal refuse to run, as a missing root does.
// Query parameters: scene, lang (zh|en), config, and test_clock (TESTS ONLY: a fixed
// Unix time instead of the terminal's clock).
// The scanner package as npm installs it (index.html maps the name into node_modules;
// scripts/test-wasm.sh installs the packed tarball there).
import init, { Verifier } from "citycode-verifier";
import { prepareZXingModule, readBarcodes } from "./node_modules/zxing-wasm/dist/es/reader/index.js";

const TEXT = {
  zh: {
    title: "城市码核验终端", scene: "场景", metro_gate: "地铁闸机", hospital: "医院挂号", parking: "停车场出口",
    scenic_spot: "景区入口", hotel_check_in: "酒店入住", paste: "扫描或粘贴城市码", verify: "核验", image: "从图片识别", next: "下一位",
    accept: "通过", reject: "拒绝", lang: "English", loading: "正在加载…", ready: "就绪", noCode: "请先扫描城市码",
    noQr: "图片中未找到二维码", camera: "摄像头扫码", stopCamera: "关闭摄像头", noCamera: "无法打开摄像头",
    unconfigured: "终端未配置", unconfiguredHint: "请安装由城市平台签发的根公钥配置（config.json）后重启终端",
    lists: "信任列表", revocations: "吊销列表", until: "有效至", listError: "列表更新失败，继续使用已有列表",
    printed: "纸质码：请核验身份证", printedHint: "此码无手机签名，任何持有复印件者均可出示：核对身份证上的姓名后方可放行",
    idChecked: "已核验身份证", guardianShown: (r) => `亲友代为出示：${r}`, listsNotSaved: "列表状态未保存",
    claims: { health: "健康码", medical_insurance: "医保", social_security: "社保", transit: "交通账户", tourism: "景区预约",
      identity: "姓名", guardian: "亲友代为出示" },
    relations: { parent: "父母", child: "子女", spouse: "配偶", relative: "亲属", legal_guardian: "监护人" },
    values: { green: "绿码", yellow: "黄码", red: "红码", active: "正常", arrears: "欠费", suspended: "暂停", terminated: "终止",
      contributing: "在缴", retired: "退休", standard: "普通票", senior_free: "老年人免费", student: "学生票",
      disabled_free: "残疾人免费", child: "儿童票", pass: "年卡", reservation: "预约" },
    reasons: {
      code_expired: "城市码已过期，请刷新", code_not_yet_valid: "城市码时间异常", replayed: "该城市码已使用",
      bad_device_signature: "设备签名无效", bad_issuer_signature: "签发签名无效", revoked: "凭证已被吊销",
      policy_unmet: "不满足本场景要求", credential_expired: "凭证已过期", credential_not_yet_valid: "凭证尚未生效",
      unknown_issuer_key: "签发机构未知", out_of_scope: "签发机构无此权限", text_prefix: "不是城市码",
      text_encoding: "城市码格式错误", truncated: "城市码不完整", trust_list_expired: "信任列表已过期，请联网更新",
      revocation_list_expired: "吊销列表已过期，请联网更新", no_trust_list: "终端未配置信任列表",
      no_revocation_list: "终端尚未获得吊销列表，请联网更新", text_too_long: "不是城市码",
    },
    other: "城市码无效",
  },
  en: {
    title: "City code terminal", scene: "Scene", metro_gate: "Metro gate", hospital: "Hospital registration", parking: "Parking exit",
    scenic_spot: "Scenic spot gate", hotel_check_in: "Hotel check-in", paste: "Scan or paste a city code", verify: "Verify", image: "Read from image", next: "Next",
    accept: "Accepted", reject: "Rejected", lang: "中文", loading: "Loading…", ready: "Ready", noCode: "Scan a code first",
    noQr: "No QR code found in the image", camera: "Scan with camera", stopCamera: "Stop camera", noCamera: "Cannot open the camera",
    unconfigured: "Terminal not configured", unconfiguredHint: "Install the city's root key configuration (config.json) and restart",
    lists: "Trust list", revocations: "Revocation list", until: "valid until", listError: "List update failed; using the lists held",
    printed: "Printed code: check the ID card", printedHint: "No phone signed this code and anyone with a copy can show it: serve only after the name on the ID card matches",
    idChecked: "ID card checked", guardianShown: (r) => `Shown by the holder's ${r}`, listsNotSaved: "list state not saved",
    claims: { health: "Health", medical_insurance: "Medical insurance", social_security: "Social security", transit: "Transit", tourism: "Tourism",
      identity: "Name", guardian: "Shown by a guardian" },
    relations: { parent: "parent", child: "son or daughter", spouse: "spouse", relative: "relative", legal_guardian: "legal guardian" },
    values: { green: "green", yellow: "yellow", red: "red", active: "active", arrears: "in arrears", suspended: "suspended",
      terminated: "terminated", contributing: "contributing", retired: "retired", standard: "standard fare",
      senior_free: "senior, free", student: "student", disabled_free: "disabled, free", child: "child", pass: "pass",
      reservation: "reservation" },
    reasons: {
      code_expired: "Code expired: refresh it", code_not_yet_valid: "Code time is wrong", replayed: "Code already used",
      bad_device_signature: "Invalid device signature", bad_issuer_signature: "Invalid issuer signature",
      revoked: "Credential revoked", policy_unmet: "Does not meet this scene's requirements",
      credential_expired: "Credential expired", credential_not_yet_valid: "Credential not yet valid",
      unknown_issuer_key: "Unknown issuer", out_of_scope: "Issuer not allowed for this domain", text_prefix: "Not a city code",
      text_encoding: "Malformed code", truncated: "Incomplete code", trust_list_expired: "Trust list expired: go online to update",
      revocation_list_expired: "Revocation list expired: go online to update", no_trust_list: "No trust list configured",
      no_revocation_list: "No revocation list yet: go online to update", text_too_long: "Not a city code",
    },
    other: "Invalid code",
  },
};

const params = new URLSearchParams(location.search);
let lang = params.get("lang") === "en" ? "en" : "zh";
const $ = (id) => document.getElementById(id);
let verifier;

function t(key) { return TEXT[lang][key]; }

function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  $("lang").textContent = t("lang");
  document.title = t("title");
}

// The terminal's local offset from UTC (config `utc_offset_minutes`; 480 by default).
let utcOffsetMinutes = 480;

function sceneFor(kind) {
  return kind === "scenic_spot" ? { kind, site: Number(params.get("site") ?? 1024), utc_offset_minutes: utcOffsetMinutes } : { kind };
}

function describe(domain, value) {
  const v = (x) => TEXT[lang].values[x] ?? x;
  // A scene's card withholds the fields its policy does not read: show what is there.
  const join = (...parts) => parts.filter((p) => p !== undefined).join(" · ");
  switch (domain) {
    case "health": return v(value.status);
    case "medical_insurance": return join(value.region, value.status && v(value.status));
    case "social_security": return v(value.status);
    case "transit": return join(value.account && v(value.account), value.fare_class && v(value.fare_class));
    case "tourism": return value.entries.map((e) => `${v(e.kind)} #${e.site}`).join(", ");
    case "identity": return value.name;
    case "guardian": return TEXT[lang].relations[value.relation] ?? value.relation;
    default: return "";
  }
}

let hideTimer;

// Shows a verdict (core's Verdict: `decision`, then `claims`... or `reason`). Three
// screens staff cannot mistake for one another: a plain accept (green tick), a printed
// code (amber, no tick, "check the ID card", and it stays until the staff confirm: no
// device signed it, so SPEC.md §5.1 makes the ID card the check), a reject (red). A code
// a guardian showed names the relation on the accept screen.
function show(decision) {
  const box = $("result");
  const accepted = decision.decision === "accept";
  const printed = accepted && decision.printed === true;
  const relation = accepted ? decision.claims.guardian?.relation : undefined;
  const screen = printed ? "printed" : accepted ? "accept" : "reject";
  box.className = `result ${screen}` + (relation ? " guardian" : "");
  box.dataset.outcome = accepted ? "accept" : decision.reason;
  box.dataset.screen = screen;
  box.dataset.guardian = relation ?? "";
  box.dataset.scan = String(Number(box.dataset.scan ?? 0) + 1);
  $("result-mark").textContent = printed ? "⚠" : accepted ? "✓" : "✗";
  $("result-verdict").textContent = printed ? t("printed") : accepted ? t("accept") : t("reject");
  const reason = $("result-reason");
  if (printed) reason.textContent = t("printedHint");
  else if (relation) reason.textContent = t("guardianShown")(TEXT[lang].relations[relation] ?? relation);
  else reason.textContent = accepted ? "" : (TEXT[lang].reasons[decision.reason] ?? t("other"));
  const list = $("result-claims");
  list.replaceChildren();
  if (accepted) {
    for (const [domain, value] of Object.entries(decision.claims)) {
      if (domain === "guardian") continue; // said above, in words
      const li = document.createElement("li");
      li.textContent = `${TEXT[lang].claims[domain] ?? domain}: ${describe(domain, value)}`;
      list.append(li);
    }
  }
  $("dismiss").textContent = printed ? t("idChecked") : t("next");
  box.hidden = false;
  // The scanner field keeps the focus: the next wedge scan replaces this verdict.
  $("code").value = "";
  $("code").focus();
  clearTimeout(hideTimer);
  // A printed code's screen waits for the staff; the others clear themselves.
  if (!printed) hideTimer = setTimeout(dismiss, 6000);
}

function dismiss() {
  $("result").hidden = true;
  $("code").value = "";
  $("code").focus();
}

function showUnconfigured(detail) {
  const box = $("result");
  box.className = "result unconfigured";
  box.dataset.outcome = "unconfigured";
  $("result-mark").textContent = "⚠";
  $("result-verdict").textContent = t("unconfigured");
  $("result-reason").textContent = t("unconfiguredHint");
  const li = document.createElement("li");
  li.textContent = detail;
  $("result-claims").replaceChildren(li);
  $("dismiss").hidden = true;
  box.hidden = false;
  document.body.dataset.ready = "unconfigured";
}

function now() {
  return params.has("test_clock") ? Number(params.get("test_clock")) : Date.now() / 1000;
}

let scans = 0;

async function verifyText(text) {
  if (!verifier) return;
  // The one trailing Enter a wedge scanner sends is the verifier's to strip (SPEC.md §6).
  if (!text) { $("status").textContent = t("noCode"); return; }
  // verifyAsync: P-256 signatures by the browser's WebCrypto where the page has it (a
  // secure context), in WASM otherwise. A newer scan's verdict replaces an older one.
  const scan = ++scans;
  const decision = await verifier.verifyAsync(text);
  if (scan === scans) show(decision);
}

async function decodeImage(source) {
  const found = await readBarcodes(source, { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1 });
  return found.find((r) => r.isValid)?.text;
}

let stream;

async function toggleCamera() {
  const video = $("video");
  if (stream) {
    stream.getTracks().forEach((track) => track.stop());
    stream = undefined;
    video.hidden = true;
    $("camera").textContent = t("camera");
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  } catch (e) {
    $("status").textContent = `${t("noCamera")}: ${e.message}`;
    return;
  }
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  $("camera").textContent = t("stopCamera");
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  let last = "";
  const scanFrame = async () => {
    if (!stream) return;
    if (video.videoWidth > 0) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      ctx.drawImage(video, 0, 0);
      const text = await decodeImage(ctx.getImageData(0, 0, canvas.width, canvas.height)).catch(() => undefined);
      // A code held in front of the camera is verified once, not every frame.
      if (text && text !== last) { last = text; verifyText(text); }
    }
    setTimeout(scanFrame, 150);
  };
  scanFrame();
}

// The keys config.json may hold: core's VerifierConfig's (SPEC.md §14) and the page's own.
const CONFIG_KEYS = ["root_key", "root_alg", "scene", "skew_secs", "max_code_validity_secs", "utc_offset_minutes",
  "allow_missing_revocation_list", "gm_only", "lists_url", "refresh_secs"];

async function loadConfig() {
  const url = new URL(params.get("config") ?? "config.json", location.href);
  let cfg;
  try {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`${url.pathname}: HTTP ${r.status}`);
    cfg = await r.json();
  } catch (e) {
    throw new Error(`config: ${e.message}`);
  }
  if (typeof cfg?.root_key !== "string" || !/^[0-9a-fA-F]{64,130}$/.test(cfg.root_key)) {
    throw new Error("config: root_key must be the root public key in hex");
  }
  // Core's VerifierConfig and the page's two keys, nothing else: a misspelt `gm_only`
  // must not leave a GM-only city's terminal open.
  const unknown = Object.keys(cfg).filter((k) => !CONFIG_KEYS.includes(k));
  if (unknown.length) throw new Error(`config: unknown field ${unknown.join(", ")}`);
  // The ranges of VerifierConfig's fields: a negative skew must not wrap to a huge one.
  const integer = (name, min, max) => {
    const v = cfg[name];
    if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) {
      throw new Error(`config: ${name} must be an integer from ${min} to ${max}`);
    }
    return v;
  };
  for (const flag of ["allow_missing_revocation_list", "gm_only"]) {
    if (cfg[flag] !== undefined && typeof cfg[flag] !== "boolean") throw new Error(`config: ${flag} must be true or false`);
  }
  const scene = typeof cfg.scene === "string" ? { kind: cfg.scene } : cfg.scene;
  if (scene !== undefined && typeof scene?.kind !== "string") throw new Error("config: scene must be {\"kind\": ...}");
  return {
    rootKey: cfg.root_key,
    rootAlg: cfg.root_alg ?? "ed25519",
    listsUrl: new URL(cfg.lists_url ?? "lists/", url),
    refreshSecs: Math.max(10, Number(cfg.refresh_secs ?? 300)),
    scene,
    skewSecs: integer("skew_secs", 0, 4294967295),
    maxCodeValiditySecs: integer("max_code_validity_secs", 0, 255),
    utcOffsetMinutes: integer("utc_offset_minutes", -1440, 1440),
    allowMissingRevocationList: cfg.allow_missing_revocation_list === true,
    gmOnly: cfg.gm_only === true,
  };
}

// The lists this terminal holds, kept across reloads (SPEC.md §8.3): the signed bytes of
// every list the verifier holds, in IndexedDB, under the root key they belong to. At start
// the page loads them back through the verifier's own checks (root signature, sequence),
// before it asks the mirror for anything, so a mirror serving an older publication after
// a reload is refused as a rollback (and the terminal keeps verifying offline, until its
// lists expire). Storage holds nothing a forger could use: every list is signed, and
// loading one can only raise what the verifier holds.
const held = new Map(); // file name -> the bytes loaded
const DB = "citycode-terminal", STORE = "held-lists";

function database() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

function request(mode, use) {
  return database().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const r = use(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(r.result); };
    tx.onerror = tx.onabort = () => { db.close(); reject(tx.error); };
  }));
}

async function restoreLists(cfg) {
  const saved = await request("readonly", (s) => s.get(cfg.rootKey));
  // The trust list first: revocation lists of issuers are checked against it.
  const names = Object.keys(saved ?? {}).sort((a, b) => (b === "trust-list.bin") - (a === "trust-list.bin"));
  const failed = [];
  for (const name of names) {
    try {
      if (name === "trust-list.bin") verifier.loadTrustList(saved[name]);
      else verifier.loadRevocationList(saved[name]);
      held.set(name, saved[name]);
    } catch (e) {
      failed.push(`${name}: ${e.code ?? e.message}`);
    }
  }
  return failed;
}

// Saves the bytes of exactly the lists the verifier holds now (a dropped issuer list goes).
async function saveLists(cfg) {
  const lists = {};
  for (const { name } of verifier.heldLists()) if (held.has(name)) lists[name] = held.get(name);
  await request("readwrite", (s) => s.put(lists, cfg.rootKey));
}

// Fetches the published directory and loads what is newer: status.json names the files
// (trust list first); each list's signature and sequence are checked in the verifier, so
// a stale or tampered mirror cannot roll a list back. On any failure the lists held
// stay in force until they expire, and the verifier then refuses every code. Whatever
// loaded is saved before the status line says so.
async function refreshLists(cfg) {
  const get = async (name) => {
    const r = await fetch(new URL(name, cfg.listsUrl), { cache: "no-store" });
    if (!r.ok) throw new Error(`${name}: HTTP ${r.status}`);
    return r;
  };
  let error;
  try {
    const status = await (await get("status.json")).json();
    for (const file of status.files) {
      const have = verifier.heldLists().find((l) => l.name === file.file);
      // A mirror behind what this terminal holds: keep the newer list, and say so.
      if (have && have.sequence > file.sequence) { error = `stale mirror: ${file.file} #${file.sequence} < #${have.sequence}`; continue; }
      if (have && have.sequence === file.sequence) continue;
      const bytes = new Uint8Array(await (await get(file.file)).arrayBuffer());
      if (file.file === "trust-list.bin") verifier.loadTrustList(bytes);
      else verifier.loadRevocationList(bytes);
      held.set(file.file, bytes);
    }
  } catch (e) {
    error = e.code ?? e.message;
  }
  try {
    await saveLists(cfg);
  } catch (e) {
    error = `${t("listsNotSaved")}: ${e.message ?? e}`;
  }
  showLists(error);
}

function showLists(error) {
  const lists = verifier.heldLists();
  const date = (t) => new Date(t * 1000).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });
  const parts = lists.map((l) => `${l.name === "trust-list.bin" ? t("lists") : t("revocations")} #${l.sequence} ${t("until")} ${date(l.expires_at)}`);
  const stale = lists.length < 2 || lists.some((l) => l.expires_at <= now());
  const el = $("lists");
  el.textContent = parts.join(" · ") + (error ? ` · ${t("listError")} (${error})` : "");
  el.className = "lists" + (stale || error ? " stale" : "");
  el.dataset.sequences = lists.map((l) => `${l.name}:${l.sequence}`).join(",");
  el.dataset.error = error ?? "";
}

async function main() {
  applyLanguage();
  $("status").textContent = t("loading");
  await init();
  // zxing's decoder comes from this terminal's own files, never a CDN.
  prepareZXingModule({
    overrides: { locateFile: (p, prefix) => (p.endsWith(".wasm") ? new URL("./node_modules/zxing-wasm/dist/reader/" + p, import.meta.url).href : prefix + p) },
  });
  let cfg;
  try {
    cfg = await loadConfig();
    const kind = params.get("scene") ?? cfg.scene?.kind ?? "metro_gate";
    $("scene").value = kind;
    utcOffsetMinutes = cfg.utcOffsetMinutes ?? 480;
    verifier = new Verifier(cfg.rootKey, cfg.rootAlg, params.get("scene") || !cfg.scene ? sceneFor(kind) : cfg.scene);
    if (cfg.skewSecs !== undefined) verifier.setSkew(cfg.skewSecs);
    if (cfg.maxCodeValiditySecs !== undefined) verifier.setMaxCodeValidity(cfg.maxCodeValiditySecs);
    verifier.setUtcOffsetMinutes(utcOffsetMinutes);
    if (cfg.allowMissingRevocationList) verifier.allowMissingRevocationList();
    if (cfg.gmOnly) {
      // Only the GM scanner package (citycode-verifier-gm) verifies SM2: with any other,
      // a GM-only terminal refuses to run rather than run without the rule.
      if (typeof verifier.requireGmOnly !== "function") throw new Error("config: gm_only needs the GM scanner package");
      verifier.requireGmOnly();
    }
  } catch (e) {
    showUnconfigured(e.message ?? String(e));
    return;
  }
  verifier.setClock(now);
  // The lists held before the last reload first, then the mirror's newer ones.
  const unrestored = await restoreLists(cfg).catch((e) => [`${t("listsNotSaved")}: ${e.message ?? e}`]);
  document.body.dataset.restored = [...held.keys()].join(",");
  if (unrestored.length) $("status").textContent = unrestored.join(" · ");
  await refreshLists(cfg);
  setInterval(() => refreshLists(cfg), cfg.refreshSecs * 1000);
  document.body.dataset.refresh = "ready";
  window.citycodeRefreshLists = () => refreshLists(cfg);
  $("scene").addEventListener("change", () => verifier.setScene(sceneFor($("scene").value)));
  $("verify").addEventListener("click", () => verifyText($("code").value));
  $("code").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); verifyText($("code").value); } });
  $("dismiss").addEventListener("click", dismiss);
  $("lang").addEventListener("click", () => { lang = lang === "zh" ? "en" : "zh"; applyLanguage(); showLists(); });
  $("camera").addEventListener("click", toggleCamera);
  $("image").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    const text = await decodeImage(file).catch(() => undefined);
    e.target.value = "";
    if (!text) { $("status").textContent = t("noQr"); return; }
    verifyText(text);
  });
  $("status").textContent = t("ready");
  $("code").focus();
  document.body.dataset.ready = "true";
}

main().catch((e) => { $("status").textContent = String(e); document.body.dataset.ready = "error"; });
