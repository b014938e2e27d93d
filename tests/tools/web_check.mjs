// The dashboard in a real headless Chromium (Debian's, driven by puppeteer-core), against a
// running job. Used by tests/integration/test_web.sh.
//
// usage: node web_check.mjs NODE_MODULES URL TRUTH.json COLUMN OUTDIR [--want-steal]
//
// Checks: the page loads with no console error and no request off this machine (every request
// is intercepted: anything but 127.0.0.1 fails the test); the progress and the table's bars
// change between two reads while the job runs; after the job the table shows exactly the
// ground truth (every group, every count), marked done and ok; the task stream has lanes for
// every mapper and at least one steal (a tail and the cut that made it). Screenshots go to
// OUTDIR (web-running.png, web-done.png, web-stream.png). Prints one line per check; exits 1
// on the first failure.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import os from "node:os";

const [modules, url, truthPath, column, outdir, ...flags] = process.argv.slice(2);
const require = createRequire(path.join(modules, "noop.js"));
const puppeteer = require("puppeteer-core");
const wantSteal = flags.includes("--want-steal");
const mappers = (flags.find((f) => f.startsWith("--mappers=")) || "--mappers=").slice(10).split(",").filter(Boolean);

const fail = async (msg, browser) => {
  console.error("FAIL: " + msg);
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const profile = fs.mkdtempSync(path.join(os.tmpdir(), "tally-chromium-"));
const browser = await puppeteer.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--user-data-dir=" + profile],
});
const page = await browser.newPage();
await page.setViewport({ width: 1400, height: 1000 });
const problems = [];
page.on("console", (m) => { if (m.type() === "error") problems.push("console error: " + m.text()); });
page.on("pageerror", (e) => problems.push("page error: " + e.message));
await page.setRequestInterception(true);
let requests = 0;
page.on("request", (r) => {
  const u = new URL(r.url());
  requests++;
  if (u.protocol === "data:") return r.continue();
  if (u.hostname !== "127.0.0.1") {
    problems.push("request off the machine: " + r.url());
    return r.abort();
  }
  r.continue();
});
page.on("requestfailed", (r) => {
  const f = r.failure();
  if (f && !/ERR_ABORTED/.test(f.errorText)) problems.push("request failed: " + r.url() + " " + f.errorText);
});

const resp = await page.goto(url, { waitUntil: "domcontentloaded" });
if (!resp || resp.status() !== 200) await fail("the page answered " + (resp && resp.status()), browser);
console.log("ok - the page loads (" + url + ")");

// A read of what the page shows: the progress bars and every table row with its bar.
const read = () => page.evaluate(() => {
  const w = (id) => document.querySelector("#" + id + " > i").style.width;
  const rows = [...document.querySelectorAll("#rows tr")].map((tr) => ({
    key: tr.getAttribute("data-key"), count: tr.cells[1].textContent, bar: tr.querySelector(".gbar div").style.width }));
  const s = window.tallyDashboard && window.tallyDashboard.state;
  return { bytes: w("pbytes"), tasks: w("ptasks"), bytesText: document.querySelector("#pbytes span").textContent,
           rows, done: !!(s && s.result && s.result.done), applied: s && s.result ? s.result.tasks : 0,
           status: document.getElementById("status").textContent, updates: window.tallyDashboard ? window.tallyDashboard.updates : 0 };
});

// Read 1: once something has been applied; read 2: once more has been, the job still running.
let r1 = null, r2 = null;
for (let i = 0; i < 600 && !r1; i++) {
  const r = await read();
  if (r.done) await fail("the job was over before a read while it ran: the slow mapper was not slow", browser);
  if (r.applied >= 1 && r.rows.length) r1 = r;
  else await sleep(100);
}
if (!r1) await fail("no task was applied within 60 s", browser);
for (let i = 0; i < 600 && !r2; i++) {
  await sleep(100);
  const r = await read();
  if (r.applied > r1.applied && !r.done) r2 = r;
  if (r.done) break;
}
if (!r2) await fail("no second read while the job ran", browser);
await page.screenshot({ path: path.join(outdir, "web-running.png"), fullPage: true });
const barsOf = (r) => JSON.stringify(r.rows.map((x) => [x.key, x.count, x.bar]));
if (r1.bytes === r2.bytes || r1.bytesText === r2.bytesText)
  await fail("the progress bar did not move between two reads: " + r1.bytesText + " / " + r2.bytesText, browser);
if (barsOf(r1) === barsOf(r2)) await fail("the table's bars did not change between two reads", browser);
console.log("ok - progress and bars change while the job runs: " + r1.bytesText + " -> " + r2.bytesText +
            ", " + r1.applied + " -> " + r2.applied + " tasks applied");

// The end: done, ok, and exactly the ground truth.
for (let i = 0; i < 1200; i++) {
  const r = await read();
  if (r.done) break;
  await sleep(100);
}
const fin = await read();
if (!fin.done) await fail("the job did not end within 120 s", browser);
await page.select("#topn", "200");
await sleep(300);
const shown = await page.evaluate(() => ({
  status: document.getElementById("status").textContent,
  more: document.getElementById("more").textContent,
  rows: [...document.querySelectorAll("#rows tr")].map((tr) => [tr.getAttribute("data-key"), tr.cells[1].textContent]),
}));
if (shown.status !== "done · ok") await fail("the page says '" + shown.status + "', not done · ok", browser);
const truth = JSON.parse(fs.readFileSync(truthPath, "utf8")).by_column[column];
const got = Object.fromEntries(shown.rows.map(([k, c]) => [k, Number(c.replace(/,/g, ""))]));
const keys = new Set([...Object.keys(truth), ...Object.keys(got)]);
for (const k of keys)
  if (truth[k] !== got[k]) await fail("group '" + k + "': the page shows " + got[k] + ", the truth is " + truth[k], browser);
if (shown.more) await fail("groups left out of the final table: " + shown.more, browser);
console.log("ok - the final page shows exactly the ground truth: " + keys.size + " groups, " +
            Object.values(got).reduce((a, b) => a + b, 0) + " rows, marked done · ok");

// The search box narrows the table.
await page.type("#search", "1");
await sleep(400);
const searched = await page.evaluate(() => [...document.querySelectorAll("#rows tr")].map((tr) => tr.getAttribute("data-key")));
const wantSearch = Object.keys(truth).filter((k) => k.toLowerCase().includes("1"));
if (searched.length !== wantSearch.length || !searched.every((k) => k.includes("1")))
  await fail("search '1' shows " + JSON.stringify(searched) + ", want " + JSON.stringify(wantSearch), browser);
await page.click("#search", { clickCount: 3 });
await page.keyboard.press("Backspace");
await sleep(300);
console.log("ok - the search box narrows the table (" + searched.length + " of " + keys.size + " groups)");

// The task stream, the mappers and the events.
const stream = await page.evaluate(() => ({
  lanes: [...document.querySelectorAll("#stream g.lane")].map((g) => g.getAttribute("data-mapper") + "/" + g.getAttribute("data-slot")),
  spans: [...document.querySelectorAll("#stream rect.span")].map((r) => r.getAttribute("data-kind") + ":" + r.getAttribute("data-state")),
  cuts: document.querySelectorAll("#stream line.cut").length,
  events: [...document.querySelectorAll("#events [data-kind]")].map((d) => d.getAttribute("data-kind")),
  mappers: [...document.querySelectorAll("#mrows tr[data-mapper]")].map((tr) => [...tr.cells].map((c) => c.textContent)),
}));
await page.screenshot({ path: path.join(outdir, "web-done.png"), fullPage: true });
const el = await page.$("#stream");
if (el) await el.screenshot({ path: path.join(outdir, "web-stream.png") });
for (const m of mappers) {
  if (!stream.lanes.some((l) => l.startsWith(m + "/"))) await fail("the task stream has no lane for mapper " + m + ": " + JSON.stringify(stream.lanes), browser);
  const row = stream.mappers.find((r) => r[0] === m);
  if (!row) await fail("the mapper table has no row for " + m, browser);
}
if (!stream.spans.length) await fail("the task stream has no span", browser);
if (wantSteal) {
  const tails = stream.spans.filter((s) => s.startsWith("tail:")).length;
  if (!tails || !stream.cuts) await fail("no steal in the task stream (" + tails + " tail span(s), " + stream.cuts + " cut mark(s)): " + JSON.stringify(stream.spans), browser);
  if (!stream.events.includes("steal")) await fail("no steal in the event list: " + JSON.stringify(stream.events), browser);
  console.log("ok - task stream: lanes " + stream.lanes.join(", ") + "; " + stream.spans.length + " spans, " + tails +
              " tail(s) from steals, " + stream.cuts + " cut mark(s); events: " + [...new Set(stream.events)].join(", "));
}
console.log("mappers: " + stream.mappers.map((r) => r.join(" ")).join("; "));

if (problems.length) await fail(problems.join("\n"), browser);
console.log("ok - no console error, no request off the machine (" + requests + " requests, all to 127.0.0.1)");
await browser.close();
fs.rmSync(profile, { recursive: true, force: true });
