// The HTTP API's types as the OpenAPI document (schemas/openapi.json) states them, through
// the types openapi-typescript generates from it (src/generated/openapi.ts). The REST client
// takes its request bodies, queries, success statuses and answers from here, and the checks
// below hold each body to the type of the same name in schemas/streamit.ts, so `tsc` fails
// when the document says something else than the wire types.

import type { paths } from "./generated/openapi.ts";
import type * as wire from "../../../schemas/streamit.ts";

/** A path of the document. */
export type ApiPath = keyof paths;
/** The methods the API uses. */
export type ApiMethod = "get" | "post";

type Operation<P extends ApiPath, M extends ApiMethod> = NonNullable<paths[P][M]>;
type Responses<P extends ApiPath, M extends ApiMethod> = Operation<P, M> extends { responses: infer R } ? R : never;
type JsonOf<T> = T extends { content: { "application/json": infer B } } ? B : undefined;

type DeclaredBody<P extends ApiPath, M extends ApiMethod> = NonNullable<
  Operation<P, M> extends { requestBody?: infer R } ? R : never
>;

/** The JSON body an operation takes (`undefined` when it takes none). A body whose fields are
 * all optional is itself optional in the document; the client always sends one. */
export type RequestBody<P extends ApiPath, M extends ApiMethod> = [DeclaredBody<P, M>] extends [never]
  ? undefined
  : DeclaredBody<P, M> extends { content: { "application/json": infer B } }
    ? B
    : undefined;

/** The status of an operation's success answer. */
export type SuccessStatus<P extends ApiPath, M extends ApiMethod> = Extract<keyof Responses<P, M>, 200 | 201 | 204>;

/** The JSON body of an operation's success answer (`undefined` for 204). */
export type SuccessBody<P extends ApiPath, M extends ApiMethod> = JsonOf<Responses<P, M>[SuccessStatus<P, M> & keyof Responses<P, M>]>;

/** An operation's query parameters (`undefined` when it takes none). */
export type Query<P extends ApiPath, M extends ApiMethod> = Operation<P, M> extends {
  parameters: { query?: infer Q };
}
  ? [Q] extends [never]
    ? undefined
    : Q
  : undefined;

/** An operation's path parameters (`undefined` when it has none). */
export type PathParams<P extends ApiPath, M extends ApiMethod> = Operation<P, M> extends {
  parameters: { path: infer T };
}
  ? [T] extends [never]
    ? undefined
    : T
  : undefined;

// Holding the document to the wire types. `Same<A, B>` is `true` only when TypeScript finds
// the two types identical: the same fields, optional or required, with identical types, at
// every depth (mutual assignability would let an optional field go missing on either side).
// `assert<true>(…)` compiles; `false` is an error at that line.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assert<T extends true>(_proof: T): void {}

type Body<P extends ApiPath, M extends ApiMethod = "post"> = RequestBody<P, M>;
type Answer<P extends ApiPath, M extends ApiMethod = "post"> = SuccessBody<P, M>;

assert<Same<Body<"/api/auth/register/">, wire.RegisterRequest>>(true);
assert<Same<Answer<"/api/auth/register/">, wire.AuthResponse>>(true);
assert<Same<SuccessStatus<"/api/auth/register/", "post">, 201>>(true);
assert<Same<Body<"/api/auth/login/">, wire.LoginRequest>>(true);
assert<Same<Answer<"/api/auth/login/">, wire.AuthResponse>>(true);
assert<Same<SuccessStatus<"/api/auth/login/", "post">, 200>>(true);
assert<Same<Body<"/api/auth/guest/">, wire.GuestRequest>>(true);
assert<Same<Answer<"/api/auth/guest/">, wire.AuthResponse>>(true);
assert<Same<SuccessStatus<"/api/auth/guest/", "post">, 201>>(true);
assert<Same<Body<"/api/auth/refresh/">, wire.RefreshRequest>>(true);
assert<Same<Answer<"/api/auth/refresh/">, wire.TokenPair>>(true);
assert<Same<Body<"/api/auth/logout/">, wire.LogoutRequest>>(true);
assert<Same<SuccessStatus<"/api/auth/logout/", "post">, 204>>(true);
assert<Same<Answer<"/api/auth/me/", "get">, wire.User>>(true);
assert<Same<Body<"/api/rooms/create/">, wire.CreateRoomRequest>>(true);
assert<Same<Answer<"/api/rooms/create/">, wire.CreateRoomResponse>>(true);
assert<Same<SuccessStatus<"/api/rooms/create/", "post">, 201>>(true);
assert<Same<Body<"/api/rooms/join/">, wire.JoinRoomRequest>>(true);
assert<Same<Answer<"/api/rooms/join/">, wire.JoinRoomResponse>>(true);
assert<Same<Answer<"/api/rooms/{code}/", "get">, wire.RoomDetail>>(true);
assert<Same<PathParams<"/api/rooms/{code}/", "get">, { code: wire.RoomCode }>>(true);
assert<Same<Answer<"/api/rooms/{code}/audit/", "get">, wire.AuditLogResponse>>(true);
assert<Same<Answer<"/api/rooms/{code}/participants/", "get">, wire.ParticipantsPage>>(true);
assert<Same<NonNullable<Query<"/api/rooms/{code}/participants/", "get">>, wire.ParticipantsQuery>>(true);
assert<Same<Answer<"/api/rooms/{code}/pending/", "get">, wire.PendingResponse>>(true);
assert<Same<Body<"/api/rooms/approve/">, wire.RoomUserRequest>>(true);
assert<Same<Answer<"/api/rooms/approve/">, wire.Participant>>(true);
assert<Same<Body<"/api/rooms/deny/">, wire.RoomUserRequest>>(true);
assert<Same<SuccessStatus<"/api/rooms/deny/", "post">, 204>>(true);
assert<Same<Body<"/api/rooms/delete/">, wire.RoomCodeRequest>>(true);
assert<Same<Answer<"/api/rooms/delete/">, wire.Room>>(true);
assert<Same<Answer<"/api/rooms/public/", "get">, wire.PublicRoomsResponse>>(true);
assert<Same<NonNullable<Query<"/api/rooms/public/", "get">>, wire.PublicRoomsQuery>>(true);
assert<Same<Body<"/api/media/embed/">, wire.EmbedRequest>>(true);
assert<Same<Answer<"/api/media/embed/">, wire.EmbedResponse>>(true);
assert<Same<Answer<"/api/media/providers/", "get">, wire.ProvidersResponse>>(true);
assert<Same<Body<"/api/rooms/progress/save/">, wire.SaveProgressRequest>>(true);
assert<Same<Answer<"/api/rooms/progress/save/">, wire.WatchProgress>>(true);
assert<Same<NonNullable<Query<"/api/rooms/progress/get/", "get">>, wire.ProgressQuery>>(true);
assert<Same<Answer<"/api/rooms/progress/get/", "get">, wire.WatchProgress>>(true);
assert<Same<Answer<"/api/rooms/{code}/resume/", "get">, wire.WatchProgress>>(true);
assert<Same<Answer<"/api/progress/", "get">, wire.ProgressListResponse>>(true);

// The WebSocket's query: the token, and where a client coming back left off (protocol 6.1).
assert<Same<keyof NonNullable<Query<"/ws/room/{code}/", "get">>, "token" | "since_seq" | "epoch">>(true);
