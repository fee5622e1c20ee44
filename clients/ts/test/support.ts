// Test support: a real streamit-server on a loopback port with a fresh SQLite database,
// waiting on events under a deadline, JSON Schema validation of what the server sends, and a
// WebSocket (the ws package) that tests can make lose frames or the connection.

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import WebSocket from "ws";
import type { Emitter } from "../src/emitter.ts";
import type { WebSocketLike } from "../src/env.ts";

/** clients/ts, whether this runs from test/ (tsc) or dist/test/ (the esbuild bundle). */
const PACKAGE_DIR = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");
const REPO_DIR = resolve(PACKAGE_DIR, "../..");

/** The server binary: STREAMIT_SERVER_BIN, else the workspace's debug build. */
export function serverBinary(): string {
  const candidates = [
    process.env["STREAMIT_SERVER_BIN"],
    process.env["CARGO_TARGET_DIR"] && join(process.env["CARGO_TARGET_DIR"], "debug/streamit-server"),
    join(REPO_DIR, "target/debug/streamit-server"),
  ];
  for (const candidate of candidates) {
    if (candidate && existsSync(candidate)) {
      return candidate;
    }
  }
  throw new Error(
    "no streamit-server binary: set STREAMIT_SERVER_BIN, or build it (cargo build -p streamit-server)",
  );
}

export interface ServerOptions {
  /** Browser origins allowed (`--cors-origins`). */
  corsOrigins?: string[];
  /** More arguments. */
  args?: string[];
}

/** A running server; `stop()` in teardown. */
export class TestServer {
  readonly dir: string;
  readonly options: ServerOptions;
  #child: ChildProcess | undefined;
  #port = 0;
  #log: string[] = [];

  private constructor(dir: string, options: ServerOptions) {
    this.dir = dir;
    this.options = options;
  }

  static async start(options: ServerOptions = {}): Promise<TestServer> {
    const server = new TestServer(mkdtempSync(join(tmpdir(), "streamit-ts-")), options);
    await server.#spawn("127.0.0.1:0");
    return server;
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  /** The server's last log lines, for failure messages. */
  log(): string {
    return this.#log.slice(-40).join("\n");
  }

  async #spawn(bind: string): Promise<void> {
    const args = [
      "--bind", bind,
      "--database-url", `sqlite://${join(this.dir, "streamit.db")}`,
      "--log-format", "json",
      "--log", "info",
      "--rate-limits", "off",
      "--shutdown-grace-seconds", "1",
      ...(this.options.corsOrigins ? ["--cors-origins", this.options.corsOrigins.join(",")] : []),
      ...(this.options.args ?? []),
    ];
    const child = spawn(serverBinary(), args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    this.#child = child;
    // A test process that dies without its teardown takes its server along.
    const reap = (): void => {
      child.kill("SIGKILL");
    };
    process.once("exit", reap);
    child.once("exit", () => process.off("exit", reap));
    this.#port = await new Promise<number>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`server did not start in 20 s:\n${this.log()}`)), 20_000);
      const onLine = (line: string): void => {
        this.#log.push(line);
        if (this.#log.length > 400) {
          this.#log.splice(0, 200);
        }
        const match = /"message":"streamit-server listening".*?"address":"127\.0\.0\.1:(\d+)"/.exec(line);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          done(Number(match[1]));
        }
      };
      for (const stream of [child.stdout, child.stderr]) {
        let buffered = "";
        stream?.setEncoding("utf8");
        stream?.on("data", (chunk: string) => {
          buffered += chunk;
          const lines = buffered.split("\n");
          buffered = lines.pop() ?? "";
          lines.forEach(onLine);
        });
      }
      child.once("exit", (code) => {
        clearTimeout(timer);
        fail(new Error(`server exited with ${code} before listening:\n${this.log()}`));
      });
    });
  }

  /** SIGTERM (the server closes sockets with 1012), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    const exited = new Promise<void>((done) => child.once("exit", () => done()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops and starts again on the same port and database. */
  async restart(): Promise<void> {
    const port = this.#port;
    await this.stop();
    await this.#spawn(`127.0.0.1:${port}`);
  }

  /** Stops and removes the database. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Resolves with the first `name` event that passes `accept`, or fails after `timeoutMs`. */
export function next<E, K extends keyof E>(
  emitter: Emitter<E>,
  name: K,
  accept: (payload: E[K]) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<E[K]> {
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      stop();
      fail(new Error(`no ${String(name)} event in ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = emitter.on(name, (payload) => {
      if (accept(payload)) {
        clearTimeout(timer);
        stop();
        done(payload);
      }
    });
  });
}

/** Polls `condition` every 20 ms until it holds, or fails after `timeoutMs`. */
export async function eventually(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((done) => setTimeout(done, 20));
  }
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addFormat("uint64", true).addFormat("uint32", true).addFormat("uint16", true).addFormat("uint8", true);
ajv.addFormat("int64", true).addFormat("double", true).addFormat("float", true);
ajv.addFormat("uuid", /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/).addFormat("email", /^[^\s@]+@[^\s@]+\.[^\s@]+$/);
const validators = new Map<string, ValidateFunction>();

/** Checks `value` against schemas/<name>.schema.json; throws with the errors. */
export function assertSchema(name: string, value: unknown): void {
  let validate = validators.get(name);
  if (validate === undefined) {
    const schema: unknown = JSON.parse(readFileSync(join(REPO_DIR, "schemas", `${name}.schema.json`), "utf8"));
    validate = ajv.compile(schema as object);
    validators.set(name, validate);
  }
  if (!validate(value)) {
    throw new Error(`${name} does not match its schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value)}`);
  }
}

/** Frames the test sockets received or sent that did not match ServerMessage or ClientMessage.schema.json. */
export const frameSchemaFailures: string[] = [];

/**
 * A WebSocket from `ws` that checks every frame both ways against the schemas, shows a test what
 * the client sends (`sent`) and lets it lose frames (`dropIncoming`) or the connection without a
 * close frame (`lose()`).
 */
export class TestSocket implements WebSocketLike {
  /** Every TestSocket made, newest last. */
  static readonly all: TestSocket[] = [];
  /** Incoming frames this returns true for are lost. */
  static dropIncoming: ((text: string, socket: TestSocket) => boolean) | undefined;
  /** Called with every frame the client sends, before it goes out. */
  static sent: ((text: string, socket: TestSocket) => void) | undefined;

  readonly url: string;
  readonly #ws: WebSocket;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(url: string) {
    this.url = url;
    this.#ws = new WebSocket(url);
    TestSocket.all.push(this);
    this.#ws.on("open", () => this.onopen?.({}));
    this.#ws.on("error", (error) => this.onerror?.(error));
    this.#ws.on("close", (code, reason) => this.onclose?.({ code, reason: reason.toString() }));
    this.#ws.on("message", (data, isBinary) => {
      const text = isBinary ? undefined : data.toString();
      if (text === undefined) {
        return;
      }
      try {
        assertSchema("ServerMessage", JSON.parse(text));
      } catch (error) {
        frameSchemaFailures.push(String(error));
      }
      if (TestSocket.dropIncoming?.(text, this) === true) {
        return;
      }
      this.onmessage?.({ data: text });
    });
  }

  get readyState(): number {
    return this.#ws.readyState;
  }

  send(data: string): void {
    try {
      assertSchema("ClientMessage", JSON.parse(data));
    } catch (error) {
      frameSchemaFailures.push(`sent: ${String(error)}`);
    }
    TestSocket.sent?.(data, this);
    this.#ws.send(data);
  }

  close(code?: number, reason?: string): void {
    this.#ws.close(code, reason);
  }

  /** Drops the TCP connection with no close frame, as a network loss would. */
  lose(): void {
    this.#ws.terminate();
  }
}
