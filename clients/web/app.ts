// The StreamIt web page: join or create a room as a guest, a player that follows the room
// (the host drives it), and chat. The player is simulated: a media clock shown as a time and
// a bar, kept on the room's playback the way a real player would be (protocol 6.9), since an
// embedded provider player cannot be driven from here.

import { Api, ApiError, type ChatMessage, type Playback, RoomConnection, Session, positionAt } from "../ts/src/index.ts";

/** Seek the local player when it is further than this from the room, ms (protocol 6.9). */
const TOLERANCE_MS = 250;
/** Nudge the rate of a player that is further than this from the room, but not past the tolerance, ms. */
const NUDGE_FROM_MS = 10;
/** How much faster or slower a nudged player runs. */
const NUDGE = 0.05;
/** How often the local player reports its position for the server to compare, ms. */
const SYNC_CHECK_MS = 5_000;

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) {
    throw new Error(`#${id} is missing from the page`);
  }
  return element as T;
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

function clockText(ms: number): string {
  const tenths = Math.floor(ms / 100);
  const s = Math.floor(tenths / 10);
  const text = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}.${tenths % 10}`;
  return s >= 3600 ? `${Math.floor(s / 3600)}:${text.padStart(7, "0")}` : text;
}

/** A media clock: where it is moves with the local clock while playing. */
class SimulatedPlayer {
  playing = false;
  rate = 1;
  #anchorMs = 0;
  #anchorLocal = now();

  position(at: number = now()): number {
    return this.#anchorMs + (this.playing ? (at - this.#anchorLocal) * this.rate : 0);
  }

  set(positionMs: number, playing: boolean, rate: number): void {
    this.#anchorMs = positionMs;
    this.#anchorLocal = now();
    this.playing = playing;
    this.rate = rate;
  }

  /**
   * Follows the room: mirror play and pause; jump to the room's position on a change or when
   * off by more than the tolerance; otherwise run a little faster or slower until a small
   * drift is gone (a clock estimate that tightened after the last jump), as a real player
   * would rather than seek.
   */
  follow(playback: Playback, serverNow: number): number {
    const target = positionAt(playback, serverNow);
    const drift = this.position() - target;
    if (playback.playing !== this.playing || Math.abs(drift) > TOLERANCE_MS || !playback.playing) {
      if (drift !== 0 || playback.playing !== this.playing || playback.rate !== this.rate) {
        this.set(target, playback.playing, playback.rate);
      }
      return drift;
    }
    const nudged = Math.abs(drift) > NUDGE_FROM_MS ? playback.rate * (drift > 0 ? 1 - NUDGE : 1 + NUDGE) : playback.rate;
    if (nudged !== this.rate) {
      this.set(this.position(), true, nudged);
    }
    return drift;
  }
}

const params = new URLSearchParams(location.search);
const player = new SimulatedPlayer();
let room: RoomConnection | undefined;
let lastDrift = 0;
let opens = 0;

$<HTMLInputElement>("server").value = params.get("server") ?? location.origin;
$<HTMLInputElement>("name").value = params.get("name") ?? "";
$<HTMLInputElement>("code").value = params.get("room") ?? "";

/** For tests and debugging: the local player's position, with the local time it was read at. */
declare global {
  interface Window {
    streamit: {
      sample(): { positionMs: number; atMs: number; playing: boolean; offsetMs: number; rttMs: number };
      room(): RoomConnection | undefined;
      /** Sockets opened so far (more than one after a reconnect). */
      opens(): number;
    };
  }
}
window.streamit = {
  sample: () => {
    const atMs = now();
    const clock = room?.clock ?? { offsetMs: 0, rttMs: Infinity };
    return { positionMs: player.position(atMs), atMs, playing: player.playing, offsetMs: clock.offsetMs, rttMs: clock.rttMs };
  },
  room: () => room,
  opens: () => opens,
};

function showError(id: string, error: unknown): void {
  $(id).textContent = error instanceof ApiError ? `${error.code}: ${error.message}` : String(error);
}

async function enter(create: boolean): Promise<void> {
  $("join-error").textContent = "";
  const api = new Api({ baseUrl: $<HTMLInputElement>("server").value.trim() });
  const name = $<HTMLInputElement>("name").value.trim();
  const session = await Session.guest(api, name === "" ? undefined : name);
  let code = $<HTMLInputElement>("code").value.trim().toUpperCase();
  if (create) {
    code = (await session.createRoom({})).room.code;
  } else {
    const joined = await session.joinRoom(code);
    if (joined.status !== "APPROVED") {
      throw new Error("waiting for the host to let you in; join again later");
    }
  }
  params.set("room", code);
  history.replaceState(null, "", `?${params.toString()}`);
  open(session, code);
}

function open(session: Session, code: string): void {
  const connection = new RoomConnection(session, code);
  room = connection;
  $("join").hidden = true;
  $("room").hidden = false;
  $("room-code").textContent = code;
  connection.on("open", ({ resumed }) => {
    opens++;
    setStatus(resumed ? "connected (resumed)" : "connected", true);
  });
  connection.on("snapshot", () => {
    renderRoom();
    $("chat-lines").replaceChildren(...(connection.view?.chat ?? []).map(chatLine));
  });
  connection.on("message", (message) => {
    if (message.type !== "CHAT_MESSAGE" && message.type !== "PONG") {
      renderRoom();
    }
  });
  connection.on("playback", () => tick());
  connection.on("chat", (line) => {
    const list = $("chat-lines");
    list.append(chatLine(line));
    list.scrollTop = list.scrollHeight;
  });
  connection.on("refused", (error) => showError("chat-error", `${error.code}: ${error.message}`));
  connection.on("disconnected", ({ code: closeCode, reconnect }) =>
    setStatus(reconnect ? `reconnecting (closed ${closeCode})` : `closed (${closeCode})`, false),
  );
  connection.on("closed", ({ code: closeCode, reason }) => setStatus(`closed (${closeCode}${reason ? `: ${reason}` : ""})`, false));
  connection.connect();
}

function chatLine(line: ChatMessage): HTMLLIElement {
  const item = document.createElement("li");
  const who = document.createElement("b");
  who.textContent = line.user.display_name;
  item.append(who, line.text);
  return item;
}

function setStatus(text: string, live: boolean): void {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("live", live);
}

function renderRoom(): void {
  const view = room?.view;
  if (view === undefined) {
    return;
  }
  $("room-name").textContent = view.room.name;
  $("media").textContent = view.room.embed_url
    ? `Media: ${view.room.embed_url}`
    : `Host: ${view.room.host.display_name} · ${view.room.viewers} watching`;
  for (const button of document.querySelectorAll<HTMLButtonElement>("[data-host]")) {
    button.disabled = !view.you.is_host;
  }
  $<HTMLInputElement>("seek-bar").disabled = !view.you.is_host;
}

/** Keeps the player on the room and redraws it; runs on every playback change and every 100 ms. */
function tick(): void {
  const view = room?.view;
  if (room === undefined || view === undefined) {
    return;
  }
  lastDrift = player.follow(view.playback, room.serverNow());
  const position = player.position();
  $("position").textContent = clockText(position);
  const rate = view.playback.rate;
  $("play-state").textContent = player.playing ? (rate === 1 ? "playing" : `playing ×${rate}`) : "paused";
  $("toggle").textContent = player.playing ? "Pause" : "Play";
  const bar = $<HTMLInputElement>("seek-bar");
  if (document.activeElement !== bar) {
    bar.value = String(Math.round(position));
  }
  const clock = room.clock;
  $("sync").textContent =
    `seq ${room.lastSeq ?? "–"} · clock offset ${clock.offsetMs.toFixed(1)} ms ` +
    `(round trip ${Number.isFinite(clock.rttMs) ? clock.rttMs.toFixed(1) : "–"} ms) · drift ${lastDrift.toFixed(0)} ms`;
}

$("join").addEventListener("submit", (event) => {
  event.preventDefault();
  enter(false).catch((error: unknown) => showError("join-error", error));
});
$("create-room").addEventListener("click", () => {
  enter(true).catch((error: unknown) => showError("join-error", error));
});
$("toggle").addEventListener("click", () => {
  const position = Math.round(player.position());
  if (player.playing) {
    room?.pause(position);
  } else {
    room?.play(position);
  }
});
$("back").addEventListener("click", () => room?.seek(Math.max(0, player.position() - 10_000)));
$("forward").addEventListener("click", () => room?.seek(player.position() + 10_000));
$("seek-bar").addEventListener("change", () => room?.seek(Number($<HTMLInputElement>("seek-bar").value)));
$("chat-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>("chat-input");
  const text = input.value.trim();
  if (text !== "" && room?.chat(text) !== undefined) {
    input.value = "";
    $("chat-error").textContent = "";
  }
});
setInterval(tick, 100);
setInterval(() => {
  if (room?.view !== undefined && !room.view.you.is_host) {
    room.syncCheck(player.position());
  }
}, SYNC_CHECK_MS);
