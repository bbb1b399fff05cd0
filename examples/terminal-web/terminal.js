// A scanning terminal page: loads the citycode scanner package, takes a scanned code
// (pasted, typed by a wedge scanner, or decoded from an image where the browser has a
// BarcodeDetector), and shows a full-screen accept or reject in Chinese or English.
//
// Configuration: config.json beside this page ({root_key, root_alg, trust_list}), or the
// demo trust data of test-vectors/holder.json. Query parameters: scene, lang (zh|en),
// now (Unix seconds; a fixed clock for demos and tests), pkg (package directory).
import init, { Verifier } from "../../target/wasm-pkg/verifier/citycode_wasm.js";

const TEXT = {
  zh: {
    title: "城市码核验终端", scene: "场景", metro_gate: "地铁闸机", hospital: "医院挂号", parking: "停车场出口",
    scenic_spot: "景区入口", paste: "扫描或粘贴城市码", verify: "核验", image: "从图片识别", next: "下一位",
    accept: "通过", reject: "拒绝", lang: "English", loading: "正在加载…", ready: "就绪", noCode: "请先扫描城市码",
    noQr: "图片中未找到二维码",
    claims: { health: "健康码", medical_insurance: "医保", social_security: "社保", transit: "交通账户", tourism: "景区预约" },
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
    },
    other: "城市码无效",
  },
  en: {
    title: "City code terminal", scene: "Scene", metro_gate: "Metro gate", hospital: "Hospital registration", parking: "Parking exit",
    scenic_spot: "Scenic spot gate", paste: "Scan or paste a city code", verify: "Verify", image: "Read from image", next: "Next",
    accept: "Accepted", reject: "Rejected", lang: "中文", loading: "Loading…", ready: "Ready", noCode: "Scan a code first",
    noQr: "No QR code found in the image",
    claims: { health: "Health", medical_insurance: "Medical insurance", social_security: "Social security", transit: "Transit", tourism: "Tourism" },
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

function sceneFor(kind) {
  return kind === "scenic_spot" ? { kind, site: Number(params.get("site") ?? 1024), utc_offset_minutes: 480 } : { kind };
}

function describe(domain, value) {
  const v = (x) => TEXT[lang].values[x] ?? x;
  switch (domain) {
    case "health": return v(value.status);
    case "medical_insurance": return `${value.region} · ${v(value.status)}`;
    case "social_security": return v(value.status);
    case "transit": return `${v(value.account)} · ${v(value.fare_class)}`;
    case "tourism": return value.entries.map((e) => `${v(e.kind)} #${e.site}`).join(", ");
    default: return "";
  }
}

function show(decision) {
  const box = $("result");
  box.className = "result " + (decision.accepted ? "accept" : "reject");
  box.dataset.outcome = decision.accepted ? "accept" : decision.code;
  $("result-mark").textContent = decision.accepted ? "✓" : "✗";
  $("result-verdict").textContent = decision.accepted ? t("accept") : t("reject");
  $("result-reason").textContent = decision.accepted ? "" : (TEXT[lang].reasons[decision.code] ?? t("other"));
  const list = $("result-claims");
  list.replaceChildren();
  if (decision.accepted) {
    for (const [domain, value] of Object.entries(decision.claims)) {
      const li = document.createElement("li");
      li.textContent = `${TEXT[lang].claims[domain] ?? domain}: ${describe(domain, value)}`;
      list.append(li);
    }
  }
  box.hidden = false;
  $("dismiss").focus();
}

function verifyText(text) {
  const code = text.trim();
  if (!code) { $("status").textContent = t("noCode"); return; }
  const now = params.has("now") ? Number(params.get("now")) : undefined;
  show(verifier.verify(code, now));
}

async function decodeImage(file) {
  const detector = new BarcodeDetector({ formats: ["qr_code"] });
  const found = await detector.detect(await createImageBitmap(file));
  if (found.length === 0) { $("status").textContent = t("noQr"); return; }
  $("code").value = found[0].rawValue;
  verifyText(found[0].rawValue);
}

async function loadConfig() {
  const tryJson = async (url) => { const r = await fetch(url); return r.ok ? r.json() : null; };
  const cfg = (await tryJson("config.json").catch(() => null)) ?? (await tryJson("../../test-vectors/holder.json"));
  const bytes = (b64) => Uint8Array.from(atob(b64.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  return { rootKey: cfg.root_key, rootAlg: cfg.root_alg ?? "ed25519", trustList: bytes(cfg.trust_list) };
}

async function main() {
  applyLanguage();
  $("status").textContent = t("loading");
  await init();
  const cfg = await loadConfig();
  const kind = params.get("scene") ?? "metro_gate";
  $("scene").value = kind;
  verifier = new Verifier(cfg.rootKey, cfg.rootAlg, sceneFor(kind));
  verifier.loadTrustList(cfg.trustList);
  $("scene").addEventListener("change", () => verifier.setScene(sceneFor($("scene").value)));
  $("verify").addEventListener("click", () => verifyText($("code").value));
  $("code").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); verifyText($("code").value); } });
  $("dismiss").addEventListener("click", () => { $("result").hidden = true; $("code").value = ""; $("code").focus(); });
  $("lang").addEventListener("click", () => { lang = lang === "zh" ? "en" : "zh"; applyLanguage(); });
  if ("BarcodeDetector" in window) {
    $("image-label").hidden = false;
    $("image").addEventListener("change", (e) => e.target.files[0] && decodeImage(e.target.files[0]));
  }
  $("status").textContent = t("ready");
  document.body.dataset.ready = "true";
}

main().catch((e) => { $("status").textContent = String(e); document.body.dataset.ready = "error"; });
