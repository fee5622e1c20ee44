// The pure parts: ordering, clock, backoff, the view fold and the playback maths.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Playback, RoomSnapshot, ServerEvent } from "../../../schemas/streamit.ts";
import { Backoff, ClockSync, Sequencer, apply, describe as describeEvent, fromSnapshot, positionAt } from "../src/index.ts";

describe("Sequencer", () => {
  it("applies in order, drops old ones, and asks for a resync on a gap", () => {
    const s = new Sequencer();
    assert.deepEqual(s.broadcast(1), { action: "drop" }, "nothing before the first snapshot");
    s.snapshot(10, "e1");
    assert.deepEqual(s.broadcast(10), { action: "drop" });
    assert.deepEqual(s.broadcast(11), { action: "apply" });
    assert.deepEqual(s.broadcast(13), { action: "resync", sinceSeq: 11, epoch: "e1" });
    assert.equal(s.resyncing, true);
    assert.deepEqual(s.broadcast(14), { action: "drop" }, "dropped until the answer");
    s.resumed("e1");
    assert.deepEqual(s.broadcast(12), { action: "apply" });
    assert.deepEqual(s.resumePoint(), { sinceSeq: 12, epoch: "e1" });
    s.snapshot(20, undefined);
    assert.equal(s.resumePoint(), undefined, "no epoch, no resume");
  });
});

describe("ClockSync", () => {
  it("keeps the offset of the fastest exchange in its window", () => {
    const clock = new ClockSync(3);
    assert.equal(clock.estimate().rttMs, Infinity);
    clock.observe(1_000_500, 1_000);
    assert.equal(clock.estimate().offsetMs, 999_500, "a frame's ts stands in before any PONG");
    clock.add({ sentMs: 0, receivedMs: 100, serverMs: 1_000_090 }); // offset 1_000_040
    clock.add({ sentMs: 200, receivedMs: 210, serverMs: 1_000_205 }); // offset 1_000_000, fastest
    clock.add({ sentMs: 300, receivedMs: 350, serverMs: 1_000_330 });
    assert.deepEqual(clock.estimate(), { offsetMs: 1_000_000, rttMs: 10, samples: 3 });
    clock.add({ sentMs: 400, receivedMs: 420, serverMs: 1_000_420 });
    clock.add({ sentMs: 500, receivedMs: 530, serverMs: 1_000_515 });
    clock.add({ sentMs: 600, receivedMs: 640, serverMs: 1_000_620 });
    assert.equal(clock.estimate().rttMs, 20, "the fastest fell out of the window");
    assert.equal(clock.add({ sentMs: 10, receivedMs: 5, serverMs: 0 }), false);
    clock.reset();
    assert.equal(clock.estimate().samples, 0);
  });
});

describe("Backoff", () => {
  it("doubles up to the cap, with jitter in the upper half, and resets", () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1_000, resetAfterMs: 5_000 }, () => 0);
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => low.next()), [50, 100, 200, 400, 500, 500]);
    const high = new Backoff({ initialMs: 100, maxMs: 1_000 }, () => 1);
    assert.deepEqual([1, 2, 3].map(() => high.next()), [100, 200, 400]);
    low.connectionEnded(4_999);
    assert.equal(low.attempt, 6);
    low.connectionEnded(5_000);
    assert.equal(low.next(), 50);
  });
});

const HOST = { id: "67e55044-10b1-426f-9247-bb680e5fe0c8", display_name: "Ada" };
const BO = { id: "0b3e7f1a-5c2d-4e8f-9a1b-2c3d4e5f6a7b", display_name: "Bo" };
const PLAYBACK: Playback = { playing: true, position_ms: 10_000, rate: 1.5, updated_at_ms: 1_700_000_000_000, version: 3 };

function snapshot(): RoomSnapshot {
  return {
    room: {
      code: "K7M9QX2R", name: "Movie night", host: HOST, state: "LIVE", is_private: false,
      entry_mode: "OPEN", chat_enabled: true, viewers: 2, created_at_ms: 1_700_000_000_000,
    },
    you: { user: BO, is_host: false },
    participants: [
      { user: HOST, status: "APPROVED", is_host: true, online: true },
      { user: BO, status: "APPROVED", is_host: false, online: true },
    ],
    playback: PLAYBACK,
    chat: [],
    seq: 41,
    epoch: "e",
  };
}

describe("RoomView", () => {
  it("folds events and never takes an older playback", () => {
    const view = fromSnapshot(snapshot());
    apply(view, { type: "PLAYBACK_STATE", data: { ...PLAYBACK, version: 2, playing: false, cause: "PAUSE", by: HOST.id } });
    assert.equal(view.playback.version, 3);
    apply(view, { type: "PLAYBACK_STATE", data: { ...PLAYBACK, version: 4, playing: false, cause: "PAUSE", by: HOST.id } });
    assert.equal(view.playback.playing, false);
    apply(view, { type: "HOST_DISCONNECTED", data: { grace_seconds: 300, grace_deadline_ms: 5 } });
    assert.equal(view.room.state, "GRACE");
    apply(view, { type: "ROOM_UPDATED", data: { state: "LIVE", viewers: 3 } });
    assert.equal(view.room.grace_deadline_ms, undefined);
    assert.equal(view.room.viewers, 3);
    apply(view, { type: "HOST_CHANGED", data: { host: BO } });
    assert.equal(view.you.is_host, true);
    apply(view, { type: "USER_MUTED", data: { user: BO } });
    assert.equal(view.you.muted_until_ms, Number.MAX_SAFE_INTEGER);
    apply(view, { type: "USER_KICKED", data: { user: HOST } });
    assert.deepEqual(view.participants.map((p) => p.user.id), [BO.id]);
    apply(view, { type: "CHAT_MESSAGE", data: { id: "x", user: BO, text: "hi", sent_at_ms: 1 } });
    assert.equal(view.chat.length, 1);
    apply(view, { type: "ROOM_DELETED", data: {} });
    assert.equal(view.ended, true);
    const newer = { type: "SOMETHING_NEW", data: {} } as unknown as Parameters<typeof apply>[1];
    apply(view, newer);
    assert.match(describeEvent(newer, 0), /ignored unknown event SOMETHING_NEW/);
  });
});

describe("positionAt", () => {
  it("follows protocol 6.9's worked example", () => {
    assert.equal(positionAt(PLAYBACK, 1_700_000_004_000), 16_000);
    assert.equal(positionAt(PLAYBACK, 1_699_999_999_000), 10_000, "never rewinds");
    assert.equal(positionAt({ ...PLAYBACK, playing: false }, 1_700_000_004_000), 10_000);
    assert.equal(positionAt({ ...PLAYBACK, position_ms: 86_399_000 }, 1_700_000_004_000), 86_400_000);
  });
});

describe("RoomView in a big room", () => {
  it("stops listing everyone once a presence batch counts people it does not name", () => {
    const view = fromSnapshot(snapshot());
    assert.equal(view.listsEveryone, true);
    apply(view, { type: "PRESENCE_CHANGED", data: { joined: [BO], left: [], viewers: 2 } });
    assert.equal(view.listsEveryone, true);
    apply(view, { type: "PRESENCE_CHANGED", data: { joined: [], left: [], viewers: 300, joined_total: 298 } });
    assert.equal(view.listsEveryone, false);
    assert.equal(view.room.viewers, 300);
    assert.equal(fromSnapshot({ ...snapshot(), participants_total: 300 }).listsEveryone, false);
  });
});

describe("describe PRESENCE_CHANGED", () => {
  it("names who the batch names and counts the rest", () => {
    const whole: ServerEvent = { type: "PRESENCE_CHANGED", data: { joined: [BO], left: [], viewers: 2 } };
    assert.equal(describeEvent(whole, 0), "came: Bo; went: nobody (2 watching)");
    const crowded: ServerEvent = {
      type: "PRESENCE_CHANGED",
      data: { joined: [BO], left: [], viewers: 1630, joined_total: 1200, left_total: 3 },
    };
    assert.equal(describeEvent(crowded, 0), "came: Bo and 1199 more; went: 3 people (1630 watching)");
    const one: ServerEvent = { type: "PRESENCE_CHANGED", data: { joined: [], left: [], viewers: 9, left_total: 1 } };
    assert.equal(describeEvent(one, 0), "came: nobody; went: 1 person (9 watching)");
  });
});
