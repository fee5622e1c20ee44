// The HTTP API (protocol 5): one typed call per endpoint. Bodies, queries, success statuses
// and answers are the OpenAPI document's (./openapi.ts); the public signatures name the same
// types from schemas/streamit.ts, and ./openapi.ts proves the two identical.

import type {
  AuditLogResponse,
  AuthResponse,
  CreateRoomRequest,
  CreateRoomResponse,
  EmbedRequest,
  EmbedResponse,
  ErrorBody,
  ErrorCode,
  GuestRequest,
  JoinRoomResponse,
  LoginRequest,
  Participant,
  ParticipantsPage,
  ParticipantsQuery,
  PendingResponse,
  ProgressListResponse,
  ProgressQuery,
  ProvidersResponse,
  PublicRoomsQuery,
  PublicRoomsResponse,
  RegisterRequest,
  Room,
  RoomCode,
  RoomDetail,
  SaveProgressRequest,
  TokenPair,
  User,
  UserId,
  WatchProgress,
} from "../../../schemas/streamit.ts";
import { type FetchLike, globalFetch } from "./env.ts";
import type { ApiMethod, ApiPath, PathParams, Query, RequestBody, SuccessBody, SuccessStatus } from "./openapi.ts";

/** A refused or failed HTTP call: the server's error body, or what stood in for it. */
export class ApiError extends Error {
  /** The HTTP status; 0 when no answer came. */
  readonly status: number;
  /** The code to act on; may be one this library does not know (protocol 3). */
  readonly code: ErrorCode | (string & {});
  /** The error body's `details`, when present. */
  readonly details: Record<string, unknown> | undefined;

  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(`${status} ${code}: ${message}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Where the server is and how to reach it. */
export interface ApiOptions {
  /** The server's origin, e.g. `http://127.0.0.1:8000` (a trailing `/` is ignored). */
  baseUrl: string;
  /** Defaults to the global `fetch` (browsers, Node 18 and later). */
  fetch?: FetchLike;
}

interface CallOptions<P extends ApiPath, M extends ApiMethod> {
  body?: RequestBody<P, M>;
  query?: Query<P, M>;
  params?: PathParams<P, M>;
  token?: string;
}

type QueryValue = string | number | boolean | null | undefined;

function queryString(query: unknown): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query ?? {}) as [string, QueryValue][]) {
    if (value !== undefined && value !== null) {
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
    }
  }
  return parts.length === 0 ? "" : `?${parts.join("&")}`;
}

function fillPath(path: string, params: unknown): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = (params as Record<string, string | undefined> | undefined)?.[name];
    if (value === undefined) {
      throw new Error(`missing path parameter ${name}`);
    }
    return encodeURIComponent(value);
  });
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const error: unknown = (value as { error?: unknown }).error;
  return typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string";
}

/** Calls that need no login, and the typed call every other goes through. */
export class Api {
  readonly baseUrl: string;
  readonly #fetch: FetchLike;

  constructor(options: ApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    const fetch = options.fetch ?? globalFetch();
    if (fetch === undefined) {
      throw new Error("no fetch: pass ApiOptions.fetch");
    }
    this.#fetch = fetch;
  }

  /**
   * One call as the OpenAPI document declares it: `status` must be the operation's success
   * status, and an answer with another 2xx status is an error too (the document and the
   * server disagree).
   *
   * @throws ApiError for every refusal, with the server's code.
   */
  async call<P extends ApiPath, M extends ApiMethod>(
    method: M,
    path: P,
    status: SuccessStatus<P, M>,
    options: CallOptions<P, M> = {},
  ): Promise<SuccessBody<P, M>> {
    const url = `${this.baseUrl}${fillPath(path, options.params)}${queryString(options.query ?? undefined)}`;
    const headers: Record<string, string> = { accept: "application/json" };
    if (options.token !== undefined) {
      headers["authorization"] = `Bearer ${options.token}`;
    }
    const init: Parameters<FetchLike>[1] = { method: method.toUpperCase(), headers };
    if (options.body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    let response: Awaited<ReturnType<FetchLike>>;
    try {
      response = await this.#fetch(url, init);
    } catch (error) {
      throw new ApiError(0, "NETWORK", error instanceof Error ? error.message : String(error));
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (response.status === status) {
      return json as SuccessBody<P, M>;
    }
    if (isErrorBody(json)) {
      const { code, message, details } = json.error;
      throw new ApiError(response.status, code, message, details ?? undefined);
    }
    throw new ApiError(response.status, "UNEXPECTED_STATUS", `${method.toUpperCase()} ${path}: expected ${status}`);
  }

  /** `POST /api/auth/guest/`: a new guest. */
  guest(body: GuestRequest = {}): Promise<AuthResponse> {
    return this.call("post", "/api/auth/guest/", 201, { body });
  }

  /** `POST /api/auth/register/`: a new account. */
  register(body: RegisterRequest): Promise<AuthResponse> {
    return this.call("post", "/api/auth/register/", 201, { body });
  }

  /** `POST /api/auth/login/`. */
  login(body: LoginRequest): Promise<AuthResponse> {
    return this.call("post", "/api/auth/login/", 200, { body });
  }

  /** `POST /api/auth/refresh/`: spends `refresh` (never retry it after a success). */
  refresh(refresh: string): Promise<TokenPair> {
    return this.call("post", "/api/auth/refresh/", 200, { body: { refresh } });
  }

  /** `GET /api/rooms/public/`: one page of the live public rooms. */
  publicRooms(query: PublicRoomsQuery = {}): Promise<PublicRoomsResponse> {
    return this.call("get", "/api/rooms/public/", 200, { query });
  }

  /** `POST /api/media/embed/`: the canonical embed URL of some media. */
  embed(body: EmbedRequest): Promise<EmbedResponse> {
    return this.call("post", "/api/media/embed/", 200, { body });
  }

  /** `GET /api/media/providers/`. */
  providers(): Promise<ProvidersResponse> {
    return this.call("get", "/api/media/providers/", 200);
  }

  /**
   * The room's WebSocket URL (protocol 6.1), with the token in the query (browsers cannot
   * set headers on a WebSocket) and, to resume, where the client left off.
   */
  roomSocketUrl(code: RoomCode, token: string, resume?: { sinceSeq: number; epoch: string }): string {
    const base = this.baseUrl.replace(/^http/, "ws");
    const query = queryString({ token, since_seq: resume?.sinceSeq, epoch: resume?.epoch });
    return `${base}/ws/room/${encodeURIComponent(code)}/${query}`;
  }
}

/**
 * A login: its tokens, and every call that needs them. A call refused with `401 UNAUTHORIZED`
 * refreshes the tokens once and is sent once more, as the Rust SDK does.
 *
 * Refreshing is reactive only: nothing compares `access_expires_at_ms` (the server's clock)
 * with the local clock. A client clock running fast would then refresh before every call, and
 * one running slow would keep presenting an expired token, while no REST answer carries the
 * server's time to correct for it (the `Date` header has whole seconds, and a cross-origin page
 * cannot read it; only a room's `PING`/`PONG` gives an offset). Waiting for the 401 costs one
 * refused request per access-token lifetime (15 min by default), and it also covers what no
 * clock predicts: a rotated signing secret.
 *
 * The refresh is single-flight, keyed on the refused token: callers refused with the same token
 * share one refresh, and one refused with a token already replaced retries with the new one,
 * since presenting a spent refresh token ends the whole login.
 */
export class Session {
  readonly api: Api;
  user: User;
  #tokens: TokenPair;
  #refreshing: Promise<TokenPair> | undefined;
  /** The login is over (logged out, or its refresh token refused): a 401 is final. */
  #ended = false;

  constructor(api: Api, auth: AuthResponse) {
    this.api = api;
    this.user = auth.user;
    this.#tokens = { access: auth.access, refresh: auth.refresh, access_expires_at_ms: auth.access_expires_at_ms };
  }

  /** A new guest's session. */
  static async guest(api: Api, displayName?: string): Promise<Session> {
    return new Session(api, await api.guest(displayName === undefined ? {} : { display_name: displayName }));
  }

  /** The tokens now held. */
  get tokens(): TokenPair {
    return { ...this.#tokens };
  }

  /**
   * The access token now held, not checked against any clock (see the class doc): a call
   * refused with it refreshes, and so does a room closed with 4001.
   */
  async accessToken(): Promise<string> {
    return this.#tokens.access;
  }

  /** Spends the refresh token for a new pair (once, however many callers ask at a time). */
  async refresh(): Promise<TokenPair> {
    if (this.#refreshing === undefined) {
      this.#refreshing = this.api.refresh(this.#tokens.refresh).then(
        (pair) => {
          this.#tokens = pair;
          this.#refreshing = undefined;
          return pair;
        },
        (error: unknown) => {
          this.#refreshing = undefined;
          if (error instanceof ApiError && error.status === 401) {
            this.#ended = true;
          }
          throw error;
        },
      );
    }
    return this.#refreshing;
  }

  /**
   * The access token to use instead of `used`, which was refused: the one held now when someone
   * already replaced `used`, else a refresh's.
   */
  async #replace(used: string): Promise<string> {
    if (this.#tokens.access === used) {
      await this.refresh();
    }
    return this.#tokens.access;
  }

  /**
   * One call with the access token; on `401 UNAUTHORIZED` it refreshes once and sends the call
   * once more (a 401 means the server did nothing, so even a POST is safe to repeat). A second
   * refusal is the caller's, and so is the first when the refresh fails, as in the Rust SDK:
   * `UNAUTHORIZED` is what tells an app to sign in again. Once the login is over (logged out,
   * or its refresh token refused), no refresh is tried again.
   */
  async #authed<P extends ApiPath, M extends ApiMethod>(
    method: M,
    path: P,
    status: SuccessStatus<P, M>,
    options: Omit<CallOptions<P, M>, "token"> = {},
  ): Promise<SuccessBody<P, M>> {
    const token = this.#tokens.access;
    let refused: ApiError;
    try {
      return await this.api.call(method, path, status, { ...options, token });
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401 && error.code === "UNAUTHORIZED") || this.#ended) {
        throw error;
      }
      refused = error;
    }
    let replacement: string;
    try {
      replacement = await this.#replace(token);
    } catch {
      throw refused;
    }
    return this.api.call(method, path, status, { ...options, token: replacement });
  }

  /** `GET /api/auth/me/`. */
  async me(): Promise<User> {
    this.user = await this.#authed("get", "/api/auth/me/", 200);
    return this.user;
  }

  /** `POST /api/auth/logout/`: ends the login; its sockets close with 4001. */
  async logout(): Promise<void> {
    // The access token alone ends the login. The refresh token held when the call starts is a
    // spent one by the time a call retried after a refresh is sent.
    await this.#authed("post", "/api/auth/logout/", 204, { body: {} });
    this.#ended = true;
  }

  /** `POST /api/rooms/create/`. */
  createRoom(body: CreateRoomRequest = {}): Promise<CreateRoomResponse> {
    return this.#authed("post", "/api/rooms/create/", 201, { body });
  }

  /** `POST /api/rooms/join/`: idempotent; `APPROVED` means connect now. */
  joinRoom(code: RoomCode, password?: string): Promise<JoinRoomResponse> {
    return this.#authed("post", "/api/rooms/join/", 200, { body: password === undefined ? { code } : { code, password } });
  }

  /** `GET /api/rooms/{code}/`: members only. */
  room(code: RoomCode): Promise<RoomDetail> {
    return this.#authed("get", "/api/rooms/{code}/", 200, { params: { code } });
  }

  /** `GET /api/rooms/{code}/audit/`: host only. */
  audit(code: RoomCode): Promise<AuditLogResponse> {
    return this.#authed("get", "/api/rooms/{code}/audit/", 200, { params: { code } });
  }

  /** `GET /api/rooms/{code}/participants/`: one page of approved members. */
  participants(code: RoomCode, query: ParticipantsQuery = {}): Promise<ParticipantsPage> {
    return this.#authed("get", "/api/rooms/{code}/participants/", 200, { params: { code }, query });
  }

  /** `GET /api/rooms/{code}/pending/`: host only. */
  pending(code: RoomCode): Promise<PendingResponse> {
    return this.#authed("get", "/api/rooms/{code}/pending/", 200, { params: { code } });
  }

  /** `POST /api/rooms/approve/`: host only. */
  approve(code: RoomCode, userId: UserId): Promise<Participant> {
    return this.#authed("post", "/api/rooms/approve/", 200, { body: { code, user_id: userId } });
  }

  /** `POST /api/rooms/deny/`: host only. */
  async deny(code: RoomCode, userId: UserId): Promise<void> {
    await this.#authed("post", "/api/rooms/deny/", 204, { body: { code, user_id: userId } });
  }

  /** `POST /api/rooms/delete/`: host only; members' sockets close with 4010. */
  deleteRoom(code: RoomCode): Promise<Room> {
    return this.#authed("post", "/api/rooms/delete/", 200, { body: { code } });
  }

  /** `POST /api/rooms/progress/save/`. */
  saveProgress(body: SaveProgressRequest): Promise<WatchProgress> {
    return this.#authed("post", "/api/rooms/progress/save/", 200, { body });
  }

  /** `GET /api/rooms/progress/get/`. */
  progress(query: ProgressQuery): Promise<WatchProgress> {
    return this.#authed("get", "/api/rooms/progress/get/", 200, { query });
  }

  /** `GET /api/rooms/{code}/resume/`: progress in the room's current media. */
  resume(code: RoomCode): Promise<WatchProgress> {
    return this.#authed("get", "/api/rooms/{code}/resume/", 200, { params: { code } });
  }

  /** `GET /api/progress/`: everything the user watched, most recent first. */
  progressList(): Promise<ProgressListResponse> {
    return this.#authed("get", "/api/progress/", 200);
  }
}
