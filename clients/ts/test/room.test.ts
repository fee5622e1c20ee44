// Live rooms against a real server: two members in one room, ordering and RESYNC (also one
// that goes unanswered or that the server cannot answer), resuming after a lost connection,
// reconnecting after a server restart, clock sync, terminal closes. Every frame received is
// also checked against ServerMessage.schema.json.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import type { ServerMessage } from "../../../schemas/streamit.ts";
import { Api, RoomConnection, type RoomConnectionOptions, Session } from "../src/index.ts";
import { TestServer, TestSocket, eventually, frameSchemaFailures, next } from "./support.ts";

const FAST = { backoff: { initialMs: 50, maxMs: 1_000 } } as const;

/** A connection with a record of the broadcasts it applied. */
function connect(session: Session, code: string, options = {}): { room: RoomConnection; seqs: number[]; messages: ServerMessage[] } {
  const room = new RoomConnection(session, code, { WebSocket: TestSocket, ...FAST, ...options });
  const seqs: number[] = [];
  const messages: ServerMessage[] = [];
  room.on("message", (message) => {
    messages.push(message);
    if (message.seq !== undefined) {
      seqs.push(message.seq);
    }
  });
  room.connect();
  return { room, seqs, messages };
}

/** Whether `seqs` rise by exactly one each. */
function contiguous(seqs: number[]): boolean {
  return seqs.every((seq, i) => i === 0 || seq === (seqs[i - 1] ?? 0) + 1);
}

/** The `ref`s of the RESYNCs `socket` sends, as they go out. */
function resyncsSentBy(socket: TestSocket): string[] {
  const refs: string[] = [];
  TestSocket.sent = (text, from) => {
    const frame = JSON.parse(text) as { type: string; ref?: string };
    if (from === socket && frame.type === "RESYNC" && frame.ref !== undefined) {
      refs.push(frame.ref);
    }
  };
  return refs;
}

/** The chat lines of `room`'s view that are among `lines`, in order. */
function linesAmong(room: RoomConnection, lines: string[]): string[] {
  return (room.view?.chat ?? []).map((c) => c.text).filter((text) => lines.includes(text));
}

/** The test that breaks the store edits its SQLite file with the sqlite3 command. */
const noSqlite3 =
  spawnSync("sqlite3", ["-version"]).status !== 0 && process.env["STREAMIT_REQUIRE_SERVICES"] !== "1"
    ? "no sqlite3 command (Debian's sqlite3 package)"
    : false;

describe("RoomConnection", { timeout: 90_000 }, () => {
  let server: TestServer;
  let api: Api;
  const open: RoomConnection[] = [];

  before(async () => {
    server = await TestServer.start({ args: ["--grace-seconds", "60"] });
    api = new Api({ baseUrl: server.url });
  });
  afterEach(() => {
    TestSocket.dropIncoming = undefined;
    TestSocket.sent = undefined;
    for (const room of open.splice(0)) {
      room.close();
    }
    assert.deepEqual(frameSchemaFailures, [], "every server frame matches its schema");
  });
  after(async () => {
    await server?.dispose();
  });

  /** A host and a member (with `memberOptions`) live in a new room on the server `via` calls. */
  async function pair(
    memberOptions: RoomConnectionOptions = {},
    via = api,
  ): Promise<{ host: ReturnType<typeof connect>; member: ReturnType<typeof connect>; hostSession: Session; memberSession: Session; code: string }> {
    const hostSession = await Session.guest(via, "Host");
    const memberSession = await Session.guest(via, "Member");
    const { room } = await hostSession.createRoom({ name: "Test room" });
    await memberSession.joinRoom(room.code);
    const host = connect(hostSession, room.code);
    open.push(host.room);
    await next(host.room, "open");
    const member = connect(memberSession, room.code, memberOptions);
    open.push(member.room);
    await next(member.room, "open");
    await eventually("the host to see the member", () => host.room.view?.participants.find((p) => p.user.id === memberSession.user.id)?.online === true);
    return { host, member, hostSession, memberSession, code: room.code };
  }

  it("carries play, seek and chat between two members in seq order", async () => {
    const { host, member, memberSession } = await pair();
    assert.equal(host.room.view?.you.is_host, true);
    assert.equal(member.room.view?.you.is_host, false);
    assert.equal(host.room.view?.room.state, "LIVE");
    const startSeq = member.room.lastSeq ?? -1;

    const played = next(member.room, "playback", (p) => p.playing);
    host.room.play(5_000);
    const playback = await played;
    assert.equal(playback.position_ms, 5_000);
    const seekSeen = next(member.room, "playback", (p) => p.position_ms === 60_000);
    host.room.seek(60_000);
    await seekSeen;
    assert.equal(member.room.view?.playback.playing, true, "a seek keeps playing");
    await eventually("the host to see its seek", () => host.room.view?.playback.version === member.room.view?.playback.version);

    const hostHears = next(host.room, "chat", (c) => c.text === "hello from the member");
    const memberHears = next(member.room, "chat", (c) => c.text === "hello from the member");
    member.room.chat("hello from the member");
    const line = await hostHears;
    await memberHears;
    assert.equal(line.user.id, memberSession.user.id);
    const back = next(member.room, "chat", (c) => c.text === "and back");
    const backHome = next(host.room, "chat", (c) => c.text === "and back");
    host.room.chat("and back");
    await back;
    await backHome;

    assert.equal(member.room.lastSeq, host.room.lastSeq, "both hold the same last seq");
    assert.equal(member.seqs[0], startSeq + 1);
    assert.ok(contiguous(member.seqs), `member seqs ${member.seqs.join(",")}`);
    assert.ok(contiguous(host.seqs), `host seqs ${host.seqs.join(",")}`);
    const drift = Math.abs((host.room.position() ?? 0) - (member.room.position() ?? 0));
    assert.ok(drift < 100, `both place the media alike (${drift} ms apart)`);

    const refused = next(member.room, "refused");
    member.room.play();
    assert.equal((await refused).code, "NOT_HOST");

    // SYNC_CHECK: a member far from the room is told where it is (threshold 500 ms).
    const correction = next(member.room, "message", (m) => m.type === "SYNC_CORRECTION");
    member.room.syncCheck(0);
    const corrected = await correction;
    assert.ok(corrected.type === "SYNC_CORRECTION" && corrected.data.drift_ms < -50_000, JSON.stringify(corrected));

    // expected_version: a control for a state that is gone is refused with the current one.
    const version = host.room.view?.playback.version ?? 0;
    const conflict = next(host.room, "refused", (e) => e.code === "VERSION_CONFLICT");
    host.room.pause(undefined, version - 1);
    const { current } = await conflict;
    assert.equal(current?.version, version);
    assert.equal(host.room.view?.playback.playing, true, "nothing changed");
  });

  it("estimates the clock offset from PING/PONG", async (t) => {
    const { host } = await pair();
    await eventually("five clock samples", () => host.room.clock.samples >= 5);
    const { offsetMs, rttMs } = host.room.clock;
    // One machine, one clock: the offset is the estimate's error (and the gap between the
    // monotonic clock mapped to the epoch and the wall clock), well under a round trip.
    assert.ok(Math.abs(offsetMs) < 50, `offset ${offsetMs} ms`);
    assert.ok(rttMs >= 0 && rttMs < 1_000, `round trip ${rttMs} ms`);
    assert.ok(Math.abs(host.room.serverNow() - Date.now()) < 100);
    t.diagnostic(`clock: offset ${offsetMs.toFixed(2)} ms, best round trip ${rttMs.toFixed(2)} ms`);
  });

  it("mends a lost broadcast with RESYNC and the room's replay", async () => {
    const { host, member } = await pair();
    let dropped = 0;
    TestSocket.dropIncoming = (text, socket) => {
      const lost = dropped === 0 && socket.url.includes(member.room.code) && text.includes('"one"') && socket === TestSocket.all.at(-1);
      dropped += lost ? 1 : 0;
      return lost;
    };
    const gap = next(member.room, "gap");
    const resumed = next(member.room, "message", (m) => m.type === "ROOM_RESUMED");
    const lastSeen = next(member.room, "chat", (c) => c.text === "three");
    host.room.chat("one");
    host.room.chat("two");
    host.room.chat("three");
    const { lastSeq, seq } = await gap;
    assert.equal(dropped, 1);
    assert.equal(seq, lastSeq + 2);
    const answer = await resumed;
    assert.ok(answer.ref !== undefined, "the ROOM_RESUMED answering RESYNC carries its ref");
    await lastSeen;
    const lines = member.room.view?.chat.map((c) => c.text);
    assert.deepEqual(lines?.slice(-3), ["one", "two", "three"], "replayed in order, no duplicate");
    assert.ok(contiguous(member.seqs), `member seqs ${member.seqs.join(",")}`);
    await eventually("both to hold the same last seq", () => member.room.lastSeq === host.room.lastSeq);
  });

  it("replaces a socket whose gap RESYNC goes unanswered, and resumes where the gap began", async () => {
    const { host, member } = await pair({ resyncTimeoutMs: 1_000 });
    const memberSocket = TestSocket.all.at(-1);
    assert.ok(memberSocket);
    const startSeq = member.room.lastSeq ?? -1;
    const epoch = member.room.epoch;
    const resyncs = resyncsSentBy(memberSocket);
    // The broadcast "one", then whatever answers the RESYNC its loss causes, never arrive.
    const lost: string[] = [];
    TestSocket.dropIncoming = (text, socket) => {
      const frame = JSON.parse(text) as { type: string; ref?: string };
      const drop =
        socket === memberSocket &&
        ((lost.length === 0 && text.includes('"one"')) || (frame.ref !== undefined && resyncs.includes(frame.ref)));
      if (drop) {
        lost.push(frame.type);
      }
      return drop;
    };
    const gap = next(member.room, "gap");
    const down = next(member.room, "disconnected");
    host.room.chat("one");
    host.room.chat("two");
    host.room.chat("three");
    const { lastSeq } = await gap;
    assert.deepEqual(await down, { code: 1006, reason: "no answer to RESYNC in 1000 ms", reconnect: true });
    assert.deepEqual(lost, ["CHAT_MESSAGE", "ROOM_RESUMED"], "the answer was lost, not late");
    assert.equal(resyncs.length, 1);
    assert.ok(memberSocket.readyState >= 2, "the old socket is closing or closed");
    assert.equal((await next(member.room, "open")).resumed, true);
    const socket = TestSocket.all.at(-1);
    assert.ok(socket !== undefined && socket !== memberSocket);
    const query = new URL(socket.url).searchParams;
    assert.equal(query.get("since_seq"), String(lastSeq), "resumes where the gap began");
    assert.equal(query.get("epoch"), epoch);
    await eventually("the missed lines", () => linesAmong(member.room, ["three"]).length > 0);
    const heard = next(member.room, "chat", (c) => c.text === "four");
    host.room.chat("four");
    await heard;
    assert.deepEqual(linesAmong(member.room, ["one", "two", "three", "four"]), ["one", "two", "three", "four"], "each once, in order");
    assert.equal(member.seqs[0], startSeq + 1);
    assert.ok(contiguous(member.seqs), `member seqs ${member.seqs.join(",")}`);
    await eventually("both to hold the same last seq", () => member.room.lastSeq === host.room.lastSeq);
  });

  it("replaces a socket whose gap RESYNC the server answers with an ERROR", { skip: noSqlite3 }, async () => {
    // With no history to replay, the server answers a RESYNC from its store.
    const noReplay = await TestServer.start({ args: ["--grace-seconds", "60", "--replay-frames", "0"] });
    try {
      const { host, member, code } = await pair({}, new Api({ baseUrl: noReplay.url }));
      const memberSocket = TestSocket.all.at(-1);
      assert.ok(memberSocket);
      const resyncs = resyncsSentBy(memberSocket);
      const database = join(noReplay.dir, "streamit.db");
      const sql = (statement: string): string =>
        execFileSync("sqlite3", ["-cmd", ".timeout 5000", database, statement], { encoding: "utf8" }).trim();
      // Members whose status the store cannot read: reading the room's members fails, so the
      // server answers the RESYNC with ERROR INTERNAL.
      assert.equal(sql(`UPDATE participants SET status = 'BROKEN-' || status WHERE room_code = '${code}'; SELECT changes();`), "2");
      const refused: { code: string; ref?: string | undefined }[] = [];
      member.room.on("refused", ({ code: error, ref }) => {
        refused.push({ code: error, ref });
        // Mended at once, before the next socket's admission reads the members.
        sql(`UPDATE participants SET status = substr(status, 8) WHERE room_code = '${code}' AND status LIKE 'BROKEN-%'`);
      });
      let dropped = 0;
      TestSocket.dropIncoming = (text, socket) => {
        const drop = dropped === 0 && socket === memberSocket && text.includes('"one"');
        dropped += drop ? 1 : 0;
        return drop;
      };
      let fresh: { seq: number; from: number } | undefined;
      member.room.on("snapshot", ({ seq }) => {
        fresh = { seq, from: member.seqs.length };
      });
      const down = next(member.room, "disconnected");
      host.room.chat("one");
      host.room.chat("two");
      host.room.chat("three");
      assert.deepEqual(await down, { code: 1006, reason: "the server could not answer RESYNC: INTERNAL", reconnect: true });
      assert.equal(dropped, 1);
      assert.equal(resyncs.length, 1);
      assert.deepEqual(refused, [{ code: "INTERNAL", ref: resyncs[0] }], "the app hears the ERROR");
      assert.ok(memberSocket.readyState >= 2, "the old socket is closing or closed");
      assert.equal((await next(member.room, "open")).resumed, false, "no history to resume from: a fresh snapshot");
      assert.notEqual(TestSocket.all.at(-1), memberSocket);
      await eventually("the missed lines", () => linesAmong(member.room, ["three"]).length > 0);
      const heard = next(member.room, "chat", (c) => c.text === "four");
      host.room.chat("four");
      await heard;
      assert.deepEqual(linesAmong(member.room, ["one", "two", "three", "four"]), ["one", "two", "three", "four"], "each once, in order");
      assert.ok(fresh !== undefined);
      const since = member.seqs.slice(fresh.from);
      assert.equal(since[0], fresh.seq + 1);
      assert.ok(contiguous(since), `member seqs after the snapshot ${since.join(",")}`);
      await eventually("both to hold the same last seq", () => member.room.lastSeq === host.room.lastSeq);
    } finally {
      for (const room of open.splice(0)) {
        room.close();
      }
      await noReplay.dispose();
    }
  });

  it("resumes with since_seq and epoch after losing its connection", async () => {
    const { host, member } = await pair();
    const memberSocket = TestSocket.all.at(-1);
    assert.ok(memberSocket);
    const gone = next(host.room, "message", (m) => m.type === "USER_LEFT");
    const lost = next(member.room, "disconnected");
    memberSocket.lose();
    assert.deepEqual(await lost, { code: 1006, reason: "", reconnect: true });
    await gone;
    host.room.chat("while you were away");
    const reopened = await next(member.room, "open");
    assert.equal(reopened.resumed, true);
    assert.match(TestSocket.all.at(-1)?.url ?? "", /since_seq=\d+&epoch=/);
    await eventually("the missed line", () => member.room.view?.chat.some((c) => c.text === "while you were away") === true);
    assert.ok(contiguous(member.seqs), `member seqs ${member.seqs.join(",")}`);
    await eventually("both to hold the same last seq", () => member.room.lastSeq === host.room.lastSeq);
  });

  it("reconnects after the server restarts", async (t) => {
    const { host, member } = await pair();
    const hostDown = next(host.room, "disconnected");
    const memberDown = next(member.room, "disconnected");
    const hostBack = next(host.room, "open", () => true, 30_000);
    const memberBack = next(member.room, "open", () => true, 30_000);
    await server.restart();
    const down = await memberDown;
    assert.equal(down.code, 1012, "the server says it restarts");
    assert.equal(down.reconnect, true);
    assert.equal((await hostDown).code, 1012);
    await hostBack;
    const back = await memberBack;
    t.diagnostic(`after the restart the member ${back.resumed ? "resumed" : "got a fresh snapshot"}`);
    const heard = next(member.room, "chat", (c) => c.text === "after the restart", 15_000);
    host.room.chat("after the restart");
    await heard;
    assert.equal(member.room.view?.room.state, "LIVE");
  });

  it("stops for good when kicked", async () => {
    const { host, member, memberSession } = await pair();
    const closed = next(member.room, "closed");
    let reconnecting = 0;
    member.room.on("reconnecting", () => reconnecting++);
    host.room.kick(memberSession.user.id);
    assert.equal((await closed).code, 4011);
    assert.equal(reconnecting, 0);
    assert.equal(member.room.connected, false);
  });

  it("refreshes once after 4001, then gives up when the login is gone", async () => {
    const { member, memberSession } = await pair();
    const disconnected = next(member.room, "disconnected");
    const closed = next(member.room, "closed");
    await memberSession.logout();
    const first = await disconnected;
    assert.equal(first.code, 4001);
    assert.equal(first.reconnect, true, "it tries a refresh first");
    assert.equal((await closed).code, 4001);
  });
});
