// The REST client against a real server: every call once, its answer checked against the
// JSON Schema of its type, refusals as ApiError with the server's code, and the refresh after
// a 401 (on a server whose access tokens live 2 s).

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Api, ApiError, type FetchLike, Session } from "../src/index.ts";
import { TestServer, assertSchema, eventually } from "./support.ts";

const HOUR_MS = 3_600_000;

/**
 * The global fetch, recording each answer as `METHOD path status`, with hooks that run before a
 * request is sent and before the client sees an answer.
 */
class Recorder {
  readonly calls: string[] = [];
  beforeSend: ((request: string, headers: Record<string, string>) => Promise<void> | void) | undefined;
  beforeAnswer: ((answer: string) => Promise<void> | void) | undefined;

  readonly fetch: FetchLike = async (url, init) => {
    const request = `${init.method} ${new URL(url).pathname}`;
    await this.beforeSend?.(request, init.headers);
    const response = await fetch(url, init);
    const answer = `${request} ${response.status}`;
    this.calls.push(answer);
    await this.beforeAnswer?.(answer);
    return response;
  };

  /** How many answers start with `prefix`. */
  count(prefix: string): number {
    return this.calls.filter((call) => call.startsWith(prefix)).length;
  }
}

/** Resolves once the server's clock (this machine's) is past `expiresAtMs`. */
async function pastExpiry(expiresAtMs: number): Promise<void> {
  await new Promise((done) => setTimeout(done, Math.max(0, expiresAtMs - Date.now() + 10)));
}

/** A gate each caller waits at until `count` callers have arrived. */
function barrier(count: number): () => Promise<void> {
  let arrived = 0;
  let open: () => void = () => undefined;
  const opened = new Promise<void>((done) => {
    open = done;
  });
  return () => {
    arrived += 1;
    if (arrived === count) {
      open();
    }
    return opened;
  };
}

describe("REST", { timeout: 60_000 }, () => {
  let server: TestServer;
  let api: Api;

  before(async () => {
    server = await TestServer.start();
    api = new Api({ baseUrl: server.url });
  });
  after(async () => {
    await server?.dispose();
  });

  it("signs in a guest, refreshes, and knows who it is", async () => {
    const auth = await api.guest({ display_name: "Ada" });
    assertSchema("AuthResponse", auth);
    assert.equal(auth.user.display_name, "Ada");
    assert.equal(auth.user.is_guest, true);
    const session = new Session(api, auth);
    const me = await session.me();
    assertSchema("User", me);
    assert.equal(me.id, auth.user.id);
    const pair = await session.refresh();
    assertSchema("TokenPair", pair);
    assert.notEqual(pair.refresh, auth.refresh);
    assert.equal((await session.me()).id, auth.user.id);
    const unnamed = await api.guest();
    assert.match(unnamed.user.display_name, /^Guest-/);
  });

  it("registers and logs in", async () => {
    const email = `ada-${Date.now()}@example.com`;
    const registered = await api.register({ email, password: "correct horse", display_name: "Ada" });
    assertSchema("AuthResponse", registered);
    assert.equal(registered.user.email, email);
    const logged = await api.login({ email, password: "correct horse" });
    assert.equal(logged.user.id, registered.user.id);
    await assert.rejects(api.login({ email, password: "wrong horse" }), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 401);
      assert.equal(error.code, "INVALID_CREDENTIALS");
      return true;
    });
  });

  it("creates, joins, reads and deletes a room", async () => {
    const host = await Session.guest(api, "Host");
    const member = await Session.guest(api, "Member");
    const created = await host.createRoom({ name: "Movie night", media: { provider: "vidking", kind: "movie", id: "550" } });
    assertSchema("CreateRoomResponse", created);
    const code = created.room.code;
    assert.match(code, /^[A-HJKMNP-TV-Z2-9]{8}$/);
    assert.equal(created.room.state, "CREATED");
    assert.equal(created.room.embed_url, "https://www.vidking.net/embed/movie/550");

    const joined = await member.joinRoom(code.toLowerCase());
    assertSchema("JoinRoomResponse", joined);
    assert.equal(joined.status, "APPROVED");
    assert.equal(joined.is_host, false);

    const detail = await member.room(code);
    assertSchema("RoomDetail", detail);
    assert.equal(detail.name, "Movie night");
    assert.equal(detail.playback.playing, false);
    assert.deepEqual(detail.participants.map((p) => p.user.display_name).sort(), ["Host", "Member"]);

    const page = await host.participants(code, { limit: 1 });
    assertSchema("ParticipantsPage", page);
    assert.equal(page.participants.length, 1);
    assert.ok(page.next_cursor);
    const rest = await host.participants(code, { limit: 1, cursor: page.next_cursor });
    assert.equal(rest.participants.length, 1);

    const progress = await member.saveProgress({ room_code: code, position_s: 90.5, duration_s: 181 });
    assertSchema("WatchProgress", progress);
    assert.equal(progress.percent, 50);
    const again = await member.progress({ room_code: code, provider: "vidking", kind: "movie", id: "550" });
    assert.equal(again.position_s, 90.5);
    assert.equal((await member.resume(code)).position_s, 90.5);
    const list = await member.progressList();
    assertSchema("ProgressListResponse", list);
    assert.equal(list.items.length, 1);

    const deleted = await host.deleteRoom(code);
    assertSchema("Room", deleted);
    assert.equal(deleted.state, "DELETED");
    const audit = await host.audit(code);
    assertSchema("AuditLogResponse", audit);
    assert.deepEqual(audit.events.map((e) => e.action), ["CREATE", "DELETE"]);
    await assert.rejects(member.joinRoom(code), { code: "ROOM_CLOSED", status: 410 });
  });

  it("approves and denies in an APPROVAL room", async () => {
    const host = await Session.guest(api, "Host");
    const asker = await Session.guest(api, "Asker");
    const other = await Session.guest(api, "Other");
    const { room } = await host.createRoom({ entry_mode: "APPROVAL", is_private: true });
    assert.equal((await asker.joinRoom(room.code)).status, "PENDING");
    assert.equal((await other.joinRoom(room.code)).status, "PENDING");
    const pending = await host.pending(room.code);
    assertSchema("PendingResponse", pending);
    assert.equal(pending.requests.length, 2);
    const approved = await host.approve(room.code, asker.user.id);
    assertSchema("Participant", approved);
    assert.equal(approved.status, "APPROVED");
    await host.deny(room.code, other.user.id);
    assert.equal((await host.pending(room.code)).requests.length, 0);
    await assert.rejects(asker.approve(room.code, other.user.id), { code: "NOT_HOST", status: 403 });
  });

  it("answers the media and listing calls", async () => {
    const embed = await api.embed({
      media: { provider: "vidking", kind: "tv", id: "1399", season: 1, episode: 9 },
      options: { color: "#E50914", auto_play: true, progress_s: 120.7 },
    });
    assertSchema("EmbedResponse", embed);
    assert.equal(embed.embed_url, "https://www.vidking.net/embed/tv/1399/1/9?color=e50914&autoPlay=true&progress=120");
    const providers = await api.providers();
    assertSchema("ProvidersResponse", providers);
    assert.deepEqual(providers.providers.map((p) => p.name).sort(), ["url", "vidking", "youtube"]);
    const listing = await api.publicRooms({ limit: 5 });
    assertSchema("PublicRoomsResponse", listing);
    await assert.rejects(api.embed({ media: { provider: "vidking", kind: "tv", id: "1399" } }), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.code, "INVALID_MEDIA");
      assert.equal(error.details?.["field"], "media.season");
      return true;
    });
  });

  it("refuses with the server's codes", async () => {
    const session = await Session.guest(api);
    await assert.rejects(session.joinRoom("ABCDEFGH"), { code: "ROOM_NOT_FOUND", status: 404 });
    await assert.rejects(session.room("ABCDEFGH"), { status: 404 });
    await assert.rejects(api.call("get", "/api/auth/me/", 200, { token: "not-a-token" }), {
      code: "UNAUTHORIZED",
      status: 401,
    });
    await assert.rejects(api.guest({ display_name: "\u202Eevil" }), { code: "INVALID_INPUT", status: 400 });
    await session.logout();
    await assert.rejects(session.me(), { code: "UNAUTHORIZED", status: 401 });
  });

  it("does not refresh on a client clock that runs fast", async () => {
    const recorder = new Recorder();
    const fast = new Api({ baseUrl: server.url, fetch: recorder.fetch });
    const auth = await fast.guest();
    // To a client clock an hour fast, the token looks expired from the start.
    const session = new Session(fast, { ...auth, access_expires_at_ms: auth.access_expires_at_ms - HOUR_MS });
    await session.me();
    await session.createRoom();
    await session.progressList();
    assert.deepEqual(recorder.calls, [
      "POST /api/auth/guest/ 201",
      "GET /api/auth/me/ 200",
      "POST /api/rooms/create/ 201",
      "GET /api/progress/ 200",
    ]);
  });
});

describe("Session after a 401", { timeout: 60_000 }, () => {
  let server: TestServer;

  before(async () => {
    server = await TestServer.start({ args: ["--access-ttl-seconds", "2"] });
  });
  after(async () => {
    await server?.dispose();
  });

  /**
   * A guest whose access token has expired, on a client clock `slowMs` slow, and the recorder
   * of its calls from then on.
   */
  async function expiredGuest(slowMs = 0): Promise<{ session: Session; recorder: Recorder }> {
    const recorder = new Recorder();
    const api = new Api({ baseUrl: server.url, fetch: recorder.fetch });
    const auth = await api.guest();
    await pastExpiry(auth.access_expires_at_ms);
    recorder.calls.length = 0;
    return { session: new Session(api, { ...auth, access_expires_at_ms: auth.access_expires_at_ms + slowMs }), recorder };
  }

  it("refreshes once and retries when the token expired, on a client clock that runs slow", async () => {
    // To a client clock an hour slow, the token looks valid for another hour.
    const { session, recorder } = await expiredGuest(HOUR_MS);
    const stale = session.tokens;
    assert.equal((await session.me()).id, session.user.id);
    assert.deepEqual(recorder.calls, ["GET /api/auth/me/ 401", "POST /api/auth/refresh/ 200", "GET /api/auth/me/ 200"]);
    assert.notEqual(session.tokens.access, stale.access);
    assert.notEqual(session.tokens.refresh, stale.refresh);
  });

  it("refreshes once for concurrent calls refused with the same token", async () => {
    const { session, recorder } = await expiredGuest();
    // Every call is refused before any refresh starts.
    const refused = barrier(4);
    recorder.beforeAnswer = (answer) => (answer.endsWith(" 401") ? refused() : undefined);
    const [me] = await Promise.all([session.me(), session.progressList(), session.createRoom(), session.me()]);
    assert.equal(me.id, session.user.id);
    assert.equal(recorder.count("POST /api/auth/refresh/"), 1);
    assert.equal(recorder.calls.filter((call) => call.endsWith(" 401")).length, 4);
    assert.equal(recorder.calls.length, 9);
  });

  it("retries without a refresh when the refused token was already replaced", async () => {
    const { session, recorder } = await expiredGuest();
    const stale = session.tokens.access;
    // The list's refusal reaches the session only once the me call's refresh replaced the token.
    recorder.beforeAnswer = (answer) =>
      answer === "GET /api/progress/ 401" ? eventually("the refresh", () => session.tokens.access !== stale) : undefined;
    await Promise.all([session.me(), session.progressList()]);
    assert.equal(recorder.count("POST /api/auth/refresh/"), 1);
    assert.equal(recorder.count("GET /api/progress/ 200"), 1);
  });

  it("gives up refreshing once the refresh token is refused: the login is over", async () => {
    const { session, recorder } = await expiredGuest();
    // Someone else spends the session's refresh token: the session's own refresh is refused.
    await session.api.refresh(session.tokens.refresh);
    recorder.calls.length = 0;
    await assert.rejects(session.me(), { code: "UNAUTHORIZED", status: 401 });
    assert.deepEqual(recorder.calls, ["GET /api/auth/me/ 401", "POST /api/auth/refresh/ 401"]);
    await assert.rejects(session.me(), { code: "UNAUTHORIZED", status: 401 });
    assert.deepEqual(recorder.calls.slice(2), ["GET /api/auth/me/ 401"], "no refresh tried again");
  });

  it("gives the caller a second 401, after one refresh", async () => {
    const { session, recorder } = await expiredGuest();
    // The login ends between the refresh and the retry.
    recorder.beforeSend = async (request, headers) => {
      if (request === "GET /api/auth/me/" && recorder.count("POST /api/auth/refresh/ 200") === 1) {
        const logout = await fetch(`${server.url}/api/auth/logout/`, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body: "{}",
        });
        assert.equal(logout.status, 204);
      }
    };
    await assert.rejects(session.me(), { code: "UNAUTHORIZED", status: 401 });
    assert.deepEqual(recorder.calls, ["GET /api/auth/me/ 401", "POST /api/auth/refresh/ 200", "GET /api/auth/me/ 401"]);
  });
});
