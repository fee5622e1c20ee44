// The web page (clients/web) in headless Chromium against a real server: the page is served
// by a small static server on another loopback port, and the server allows that origin
// (--cors-origins). Two pages join one room; the host page plays and seeks, the member page
// follows within the documented threshold; chat crosses both ways.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { TestServer } from "./support.ts";

declare global {
  interface Window {
    streamit: { sample(): Sample; opens(): number };
  }
}

const WEB_DIR = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../../web");
/** The server's SYNC_CHECK threshold (protocol 6.3, `--sync-threshold-ms`, 500 by default). */
const SYNC_THRESHOLD_MS = 500;

function chromiumPath(): string | undefined {
  return [process.env["CHROMIUM_BIN"], "/usr/bin/chromium"].find((path) => path !== undefined && existsSync(path));
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json",
};

/** Serves clients/web's files (and nothing else) on a free loopback port. */
async function serveWeb(): Promise<{ server: Server; origin: string }> {
  const files = new Set(["index.html", "style.css", "dist/app.js", "dist/app.js.map"]);
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://x").pathname.replace(/^\/+/, "") || "index.html";
    if (!files.has(path)) {
      response.writeHead(path === "favicon.ico" ? 204 : 404).end();
      return;
    }
    response.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" });
    response.end(readFileSync(join(WEB_DIR, path)));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** What the page's `window.streamit.sample()` answers. */
interface Sample {
  positionMs: number;
  atMs: number;
  playing: boolean;
  /** The page's clock offset estimate and the round trip it comes from, ms. */
  offsetMs: number;
  rttMs: number;
}

const sample = (page: Page): Promise<Sample> => page.evaluate(() => window.streamit.sample());
const text = (page: Page, selector: string): Promise<string> =>
  page.$eval(selector, (element) => element.textContent ?? "");

/** The member's position minus the host's, both taken to the member's sampling instant. */
async function syncError(host: Page, member: Page): Promise<number> {
  const a = await sample(host);
  const b = await sample(member);
  const hostThen = a.positionMs + (a.playing ? b.atMs - a.atMs : 0);
  return b.positionMs - hostThen;
}

const chromium = chromiumPath();
const skip = chromium === undefined && process.env["STREAMIT_REQUIRE_SERVICES"] !== "1" ? "no Chromium at /usr/bin/chromium (set CHROMIUM_BIN)" : false;

describe("web page in Chromium", { timeout: 120_000, skip }, () => {
  let web: { server: Server; origin: string };
  let streamit: TestServer;
  let browser: Browser;
  const problems: string[] = [];

  before(async () => {
    assert.ok(chromium, "Chromium is required (STREAMIT_REQUIRE_SERVICES=1)");
    assert.ok(existsSync(join(WEB_DIR, "dist/app.js")), "build the page first: npm run build");
    web = await serveWeb();
    streamit = await TestServer.start({ corsOrigins: [web.origin] });
    browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      // Two pages at once: the one behind gets no animation frames (puppeteer's clicks and
      // its default polling wait for them), so tests bring a page to the front before acting
      // on it, poll by time, and keep the page behind from having its timers slowed.
      defaultViewport: null,
      args: [
        "--window-size=760,900",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-renderer-backgrounding",
        "--disable-background-timer-throttling",
        "--disable-backgrounding-occluded-windows",
      ],
      protocolTimeout: 30_000,
    });
  });
  after(async () => {
    await browser?.close();
    await streamit?.dispose();
    await new Promise((done) => web?.server.close(done));
  });

  async function openPage(name: string, room?: string): Promise<Page> {
    const page = await browser.newPage();
    page.on("pageerror", (error) => problems.push(`${name}: ${String(error)}`));
    page.on("console", (message) => {
      if (message.type() === "error") {
        problems.push(`${name}: ${message.text()}`);
      }
    });
    const query = new URLSearchParams({ server: streamit.url, name, ...(room ? { room } : {}) });
    await page.goto(`${web.origin}/index.html?${query}`, { waitUntil: "load", timeout: 15_000 });
    return page;
  }

  async function waitConnected(page: Page): Promise<void> {
    await page.waitForFunction(() => document.getElementById("status")?.textContent?.startsWith("connected"), { timeout: 15_000, polling: 50 });
  }

  it("joins a room, follows the host's play and seek, and carries chat", async (t) => {
    const host = await openPage("Host");
    await host.bringToFront();
    await host.click("#create-room");
    await waitConnected(host);
    const code = await text(host, "#room-code");
    assert.match(code, /^[A-HJKMNP-TV-Z2-9]{8}$/);

    const member = await openPage("Member", code);
    assert.equal(await host.$eval("#code", (input) => (input as HTMLInputElement).value), "");
    await member.bringToFront();
    await member.click("#join-room");
    await waitConnected(member);
    assert.equal(await member.$eval("#toggle", (b) => (b as HTMLButtonElement).disabled), true, "members cannot drive");
    assert.equal(await host.$eval("#toggle", (b) => (b as HTMLButtonElement).disabled), false);

    await host.bringToFront();
    await host.click("#toggle");
    await member.waitForFunction(() => window.streamit.sample().playing, { timeout: 10_000, polling: 50 });
    await host.evaluate(() => {
      const bar = document.getElementById("seek-bar") as HTMLInputElement;
      bar.value = "600000";
      bar.dispatchEvent(new Event("change"));
    });
    // Both pages apply the same broadcast, each in its own time: compare them once both have
    // it (waiting for the member alone once sampled the host a moment before its seek landed).
    for (const page of [member, host]) {
      await page.waitForFunction(() => window.streamit.sample().positionMs >= 600_000, { timeout: 10_000, polling: 50 });
    }

    const errors: number[] = [];
    for (let i = 0; i < 20; i++) {
      errors.push(await syncError(host, member));
      await new Promise((done) => setTimeout(done, 100));
    }
    const worst = Math.max(...errors.map(Math.abs));
    const mean = errors.reduce((sum, e) => sum + e, 0) / errors.length;
    const [h, m] = [await sample(host), await sample(member)];
    t.diagnostic(`clock offsets: host ${h.offsetMs.toFixed(2)} ms (rtt ${h.rttMs.toFixed(2)}), member ${m.offsetMs.toFixed(2)} ms (rtt ${m.rttMs.toFixed(2)})`);
    t.diagnostic(`playing: member − host over ${errors.length} samples: mean ${mean.toFixed(2)} ms, worst ${worst.toFixed(2)} ms`);
    assert.ok(worst < SYNC_THRESHOLD_MS, `member within ${SYNC_THRESHOLD_MS} ms of the host (worst ${worst.toFixed(1)} ms)`);

    await host.bringToFront();
    await host.click("#toggle");
    for (const page of [member, host]) {
      await page.waitForFunction(() => !window.streamit.sample().playing, { timeout: 10_000, polling: 50 });
    }
    const paused = await syncError(host, member);
    t.diagnostic(`paused: member − host ${paused.toFixed(2)} ms`);
    assert.ok(Math.abs(paused) < SYNC_THRESHOLD_MS);

    await member.bringToFront();
    await member.type("#chat-input", "hello from the member page");
    await member.keyboard.press("Enter");
    await host.waitForFunction(() => document.getElementById("chat-lines")?.textContent?.includes("hello from the member page"), { timeout: 10_000, polling: 50 });
    await host.bringToFront();
    await host.type("#chat-input", "hi back");
    await host.click("#chat-form button");
    await member.waitForFunction(() => document.getElementById("chat-lines")?.textContent?.includes("hi back"), { timeout: 10_000, polling: 50 });
    assert.equal(await text(member, "#chat-lines li:last-child"), "Hosthi back");

    // A late joiner starts from the snapshot: the chat so far and the paused position.
    const late = await openPage("Late", code);
    await late.bringToFront();
    await late.click("#join-room");
    await waitConnected(late);
    await late.waitForFunction(() => document.querySelectorAll("#chat-lines li").length === 2, { timeout: 10_000, polling: 50 });
    assert.ok(Math.abs(await syncError(host, late)) < SYNC_THRESHOLD_MS);

    // The server restarts (close 1012): the pages reconnect by themselves and follow again.
    await streamit.restart();
    for (const page of [host, member]) {
      await page.waitForFunction(() => window.streamit.opens() === 2, { timeout: 30_000, polling: 50 });
    }
    await host.bringToFront();
    await host.click("#toggle");
    await member.waitForFunction(() => window.streamit.sample().playing, { timeout: 10_000, polling: 50 });
    const afterRestart = await syncError(host, member);
    t.diagnostic(`after a server restart, playing: member − host ${afterRestart.toFixed(2)} ms`);
    assert.ok(Math.abs(afterRestart) < SYNC_THRESHOLD_MS);

    await member.bringToFront();
    await member.screenshot({ path: "/tmp/streamit-web-member.png" });
    assert.deepEqual(problems, [], "no errors in either page");
  });
});
