// The REST client against a real server: every call once, its answer checked against the
// JSON Schema of its type, and refusals as ApiError with the server's code.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Api, ApiError, Session } from "../src/index.ts";
import { TestServer, assertSchema } from "./support.ts";

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
    await assert.rejects(session.me(), { code: "UNAUTHORIZED" });
  });
});
