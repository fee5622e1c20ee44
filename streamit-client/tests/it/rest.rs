//! Every REST call of the SDK against the real server: its success, and its documented
//! failures mapped to the right status and `ErrorCode`.

use std::time::Duration;

use streamit_client::protocol::v1::{
    AccessToken, CreateRoomRequest, Email, EmbedOptions, EmbedRequest, EntryMode, ErrorCode,
    JoinRoomRequest, LoginRequest, MediaKind, MediaRef, MemberStatus, PageLimit, Password,
    ProgressQuery, Provider, PublicRoomsQuery, RefreshToken, RegisterRequest, RoomCode,
    RoomPassword, RoomState, SaveProgressRequest, Seconds, TokenPair,
};
use streamit_client::{Client, Error};
use streamit_testing::eventually;

use crate::support::{PATIENCE, TestServer, client_for, join_connected, name_of, open_room};

const PASSWORD: &str = "correct horse battery";

/// Checks an API failure's status and code.
#[track_caller]
fn refused<T: std::fmt::Debug>(result: Result<T, Error>, status: u16, code: ErrorCode) -> Error {
    let error = result.expect_err("the server must refuse this");
    assert_eq!(error.status(), Some(status), "{error}");
    assert_eq!(error.code(), Some(code), "{error}");
    assert!(!error.as_api().unwrap().message.is_empty());
    error
}

fn register_request(email: &str) -> RegisterRequest {
    RegisterRequest::new(
        Email::new(email).unwrap(),
        Password::new(PASSWORD).unwrap(),
        name_of(email.split('@').next().unwrap()),
    )
}

/// A client whose tokens the server never issued.
fn stale_client(server: &TestServer) -> Client {
    let tokens = TokenPair::new(
        AccessToken::new("not.a.token").unwrap(),
        RefreshToken::new("never-issued").unwrap(),
        0,
    );
    Client::builder(&server.base_url)
        .no_proxy()
        .tokens(tokens)
        .build()
        .unwrap()
}

fn movie() -> MediaRef {
    MediaRef::from_parts(Provider::Vidking, MediaKind::Movie, "550", None, None).unwrap()
}

#[tokio::test]
async fn auth_calls_and_their_failures() {
    let server = TestServer::start(|_| {}).await;

    let ada = server.client();
    let registered = ada
        .register(&register_request("ada@example.com"))
        .await
        .unwrap();
    assert!(ada.is_signed_in());
    assert_eq!(ada.user().unwrap().id, registered.user.id);
    let me = ada.me().await.unwrap();
    assert_eq!(me.email.unwrap().as_str(), "ada@example.com");
    assert!(!me.is_guest);
    let again = server
        .client()
        .register(&register_request("ada@example.com"))
        .await;
    refused(again, 409, ErrorCode::EmailTaken);

    let login = LoginRequest::new(
        Email::new("ada@example.com").unwrap(),
        Password::new(PASSWORD).unwrap(),
    );
    let second = server.client();
    assert_eq!(
        second.login(&login).await.unwrap().user.id,
        registered.user.id
    );
    let wrong = LoginRequest::new(
        Email::new("ada@example.com").unwrap(),
        Password::new("not the password").unwrap(),
    );
    let failed = server.client();
    refused(
        failed.login(&wrong).await,
        401,
        ErrorCode::InvalidCredentials,
    );
    assert!(!failed.is_signed_in());

    let named = server.client().guest(Some(name_of("Bo"))).await.unwrap();
    assert!(named.user.is_guest && named.user.display_name.as_str() == "Bo");
    let unnamed = server.client().guest(None).await.unwrap();
    assert!(unnamed.user.display_name.as_str().starts_with("Guest-"));

    let before = ada.tokens().unwrap();
    let pair = ada.refresh().await.unwrap();
    assert_ne!(pair.refresh, before.refresh);
    assert_eq!(ada.tokens().unwrap(), pair);
    ada.me().await.unwrap();
    let spent = Client::builder(&server.base_url)
        .no_proxy()
        .tokens(before)
        .build()
        .unwrap();
    refused(spent.refresh().await, 401, ErrorCode::InvalidToken);
    assert!(
        !spent.is_signed_in(),
        "a refused refresh forgets the tokens"
    );

    // Two handles on one login: logging out on one ends it for the other.
    let saved = second.tokens().unwrap();
    let other_handle = Client::builder(&server.base_url)
        .no_proxy()
        .tokens(saved)
        .build()
        .unwrap();
    other_handle.me().await.unwrap();
    second.logout().await.unwrap();
    assert!(!second.is_signed_in() && second.user().is_none());
    assert!(matches!(second.me().await, Err(Error::NotSignedIn)));
    refused(other_handle.me().await, 401, ErrorCode::Unauthorized);
    let stale = stale_client(&server);
    refused(stale.logout().await, 401, ErrorCode::Unauthorized);
    assert!(
        !stale.is_signed_in(),
        "logout forgets the tokens even when refused"
    );
}

#[tokio::test]
async fn sign_ups_are_rate_limited_with_a_retry_after() {
    let server = TestServer::start(|config| {
        config.rate_limits = streamit_server::Switch::On;
        config.signups_per_ip_per_minute = 1;
    })
    .await;
    server.client().guest(None).await.unwrap();
    let error = refused(
        server.client().guest(None).await,
        429,
        ErrorCode::RateLimited,
    );
    let wait = error
        .retry_after()
        .expect("RATE_LIMITED says when to retry");
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(60),
        "{wait:?}"
    );
}

#[tokio::test]
async fn room_calls_and_their_failures() {
    let server = TestServer::start(|_| {}).await;
    let host = server.guest("Host").await;
    let member = server.guest("Member").await;
    let outsider = server.guest("Outsider").await;

    let created = host
        .create_room(&CreateRoomRequest::default())
        .await
        .unwrap();
    let code = created.room.code;
    assert_eq!(created.room.host.id, host.user().unwrap().id);
    assert_eq!(created.room.state, RoomState::Created);
    refused(
        stale_client(&server)
            .create_room(&CreateRoomRequest::default())
            .await,
        401,
        ErrorCode::Unauthorized,
    );

    let joined = member
        .join(&JoinRoomRequest::new(code, None))
        .await
        .unwrap();
    assert_eq!(
        (joined.status, joined.is_host),
        (MemberStatus::Approved, false)
    );
    let nowhere = RoomCode::parse("ZZZZ2345").unwrap();
    refused(
        member.join(&JoinRoomRequest::new(nowhere, None)).await,
        404,
        ErrorCode::RoomNotFound,
    );

    let detail = member.room(code).await.unwrap();
    assert_eq!(detail.room.code, code);
    assert!(
        detail
            .participants
            .iter()
            .any(|p| p.user.id == member.user().unwrap().id)
    );
    assert!(!detail.playback.playing);
    refused(outsider.room(code).await, 403, ErrorCode::NotAMember);

    // An APPROVAL room: pending, approve, deny.
    let approval = CreateRoomRequest::default().with_entry_mode(EntryMode::Approval);
    let gated = host.create_room(&approval).await.unwrap().room.code;
    let asked = outsider
        .join(&JoinRoomRequest::new(gated, None))
        .await
        .unwrap();
    assert_eq!(asked.status, MemberStatus::Pending);
    let pending = host.pending(gated).await.unwrap();
    let outsider_id = outsider.user().unwrap().id;
    assert_eq!(pending.requests.len(), 1);
    assert_eq!(pending.requests[0].user.id, outsider_id);
    refused(member.pending(gated).await, 403, ErrorCode::NotHost);
    refused(
        member.approve(gated, outsider_id).await,
        403,
        ErrorCode::NotHost,
    );
    let approved = host.approve(gated, outsider_id).await.unwrap();
    assert_eq!(approved.status, MemberStatus::Approved);
    refused(
        host.approve(gated, outsider_id).await,
        404,
        ErrorCode::NotPending,
    );
    member
        .join(&JoinRoomRequest::new(gated, None))
        .await
        .unwrap();
    let member_id = member.user().unwrap().id;
    host.deny(gated, member_id).await.unwrap();
    refused(
        host.deny(gated, member_id).await,
        404,
        ErrorCode::NotPending,
    );

    // A PASSWORD room, with a generated password.
    let locked = CreateRoomRequest::default().with_entry_mode(EntryMode::Password);
    let created = host.create_room(&locked).await.unwrap();
    let password = created
        .password
        .expect("a generated password is shown once");
    let wrong = JoinRoomRequest::new(created.room.code, Some(RoomPassword::new("guess").unwrap()));
    refused(member.join(&wrong).await, 403, ErrorCode::WrongPassword);
    let right = JoinRoomRequest::new(created.room.code, Some(password));
    assert_eq!(
        member.join(&right).await.unwrap().status,
        MemberStatus::Approved
    );

    // The public listing shows open rooms whose host is connected.
    let (_hosting, _events, _) = join_connected(&host, code).await;
    // The listing reads presence the room task writes behind: poll until it shows.
    let listing = eventually("the room in the public listing", PATIENCE, async || {
        let listing = outsider
            .public_rooms(&PublicRoomsQuery::default())
            .await
            .unwrap();
        listing
            .rooms
            .iter()
            .any(|r| r.code == code)
            .then_some(listing)
    })
    .await;
    assert!(listing.total >= 1);

    refused(member.delete_room(code).await, 403, ErrorCode::NotHost);
    let deleted = host.delete_room(code).await.unwrap();
    assert_eq!(deleted.state, RoomState::Deleted);
    refused(host.delete_room(code).await, 410, ErrorCode::RoomClosed);
    refused(
        member.join(&JoinRoomRequest::new(code, None)).await,
        410,
        ErrorCode::RoomClosed,
    );
}

/// The SDK pages the public listing by cursor: it sends a page's `next_cursor` back and gets
/// the rooms after it, and the last page has none.
#[tokio::test]
async fn public_rooms_page_by_cursor() {
    let server = TestServer::start(|_| {}).await;
    let host = server.guest("Host").await;
    let mut codes = vec![open_room(&host).await, open_room(&host).await];
    let mut sessions = Vec::new();
    for &code in &codes {
        sessions.push(join_connected(&host, code).await);
    }
    let one = Some(PageLimit::new(1).unwrap());
    // The listing reads presence the room tasks write behind: poll until both show. The page
    // and the total are read by two statements, so a write landing between them gives a
    // total of 2 over a page that saw 1 room (no cursor): wait for the page to show 2 too.
    let first = eventually("both rooms in the listing", PATIENCE, async || {
        let first = host
            .public_rooms(&PublicRoomsQuery::new(one, None))
            .await
            .unwrap();
        (first.total == 2 && first.next_cursor.is_some()).then_some(first)
    })
    .await;
    assert_eq!(first.rooms.len(), 1, "{first:?}");
    let cursor = first.next_cursor.expect("waited for a cursor");
    let second = host
        .public_rooms(&PublicRoomsQuery::after(one, cursor))
        .await
        .unwrap();
    assert_eq!(second.next_cursor, None, "{second:?}");
    let mut seen = vec![first.rooms[0].code, second.rooms[0].code];
    seen.sort();
    codes.sort();
    assert_eq!(seen, codes);

    let mut both = PublicRoomsQuery::after(one, cursor);
    both.offset = Some(0);
    let error = refused(host.public_rooms(&both).await, 400, ErrorCode::InvalidInput);
    assert_eq!(error.as_api().unwrap().field(), Some("offset"));
    drop(sessions);
}

#[tokio::test]
async fn media_and_progress_calls_and_their_failures() {
    let server = TestServer::start(|_| {}).await;
    let host = server.guest("Host").await;
    let member = server.guest("Member").await;
    let outsider = server.guest("Outsider").await;

    let providers = server.client().providers().await.unwrap();
    let vidking = providers
        .providers
        .iter()
        .find(|p| p.name == Provider::Vidking)
        .expect("vidking is a provider");
    assert!(vidking.kinds.contains(&MediaKind::Tv));

    let request =
        EmbedRequest::new(movie()).with_options(EmbedOptions::default().with_auto_play(true));
    let embed = server.client().embed(&request).await.unwrap();
    assert_eq!(
        embed.embed_url,
        "https://www.vidking.net/embed/movie/550?autoPlay=true"
    );
    assert_eq!(embed.capabilities, vidking.capabilities);

    let with_media = CreateRoomRequest::default().with_media(movie());
    let code = host.create_room(&with_media).await.unwrap().room.code;
    member
        .join(&JoinRoomRequest::new(code, None))
        .await
        .unwrap();

    let save = SaveProgressRequest::new(code, Seconds::new(61.0).unwrap());
    let saved = member.save_progress(&save).await.unwrap();
    assert_eq!((saved.room_code, saved.position_s.get()), (code, 61.0));
    assert_eq!(saved.media, movie());
    refused(
        outsider.save_progress(&save).await,
        403,
        ErrorCode::NotAMember,
    );

    let query = ProgressQuery::new(code, &movie());
    assert_eq!(member.progress(&query).await.unwrap(), saved);
    let other =
        MediaRef::from_parts(Provider::Youtube, MediaKind::Video, "abc", None, None).unwrap();
    refused(
        member.progress(&ProgressQuery::new(code, &other)).await,
        404,
        ErrorCode::NoProgress,
    );

    assert_eq!(member.resume(code).await.unwrap(), saved);
    refused(host.resume(code).await, 404, ErrorCode::NoProgress);

    let list = member.progress_list().await.unwrap();
    assert_eq!(list.items, vec![saved]);
    refused(
        stale_client(&server).progress_list().await,
        401,
        ErrorCode::Unauthorized,
    );
}

#[tokio::test]
async fn operations_and_transport_failures() {
    let server = TestServer::start(|_| {}).await;
    let client = server.client();
    client.health().await.unwrap();
    client.ready().await.unwrap();
    let metrics = client.metrics().await.unwrap();
    assert!(metrics.contains("# TYPE"), "{metrics}");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let nobody = client_for(&closed);
    let error = nobody.health().await.expect_err("nothing listens there");
    let Error::Http(transport) = &error else {
        panic!("a transport failure, not {error:?}");
    };
    assert!(transport.is_connect() && !transport.is_timeout(), "{error}");
    assert_eq!(
        (error.code(), error.status(), transport.status()),
        (None, None, None)
    );
    assert!(error.to_string().starts_with("HTTP transport: "), "{error}");
    let cause = std::error::Error::source(&error).expect("the cause is kept");
    assert!(!cause.to_string().is_empty());

    // A server that accepts and never answers: the client's timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slow = Client::builder(format!("http://{}", silent.local_addr().unwrap()))
        .timeout(std::time::Duration::from_millis(200))
        .no_proxy()
        .build()
        .unwrap();
    match slow.health().await {
        Err(Error::Http(transport)) => assert!(transport.is_timeout(), "{transport}"),
        other => panic!("wanted a timeout, got {other:?}"),
    }
    drop(silent);
    assert!(matches!(
        Client::builder("ftp://example.com").build(),
        Err(Error::InvalidUrl { .. })
    ));
    assert!(matches!(
        nobody.join_room(open_room_code()).await,
        Err(Error::NotSignedIn)
    ));
}

fn open_room_code() -> RoomCode {
    RoomCode::parse("ABCD2345").unwrap()
}

#[tokio::test]
async fn join_room_refusals_come_from_the_rest_join() {
    let server = TestServer::start(|_| {}).await;
    let host = server.guest("Host").await;
    let member = server.guest("Member").await;

    let locked = CreateRoomRequest::default()
        .with_entry_mode(EntryMode::Password)
        .with_password(RoomPassword::new("sesame").unwrap());
    let code = host.create_room(&locked).await.unwrap().room.code;
    refused(member.join_room(code).await, 403, ErrorCode::WrongPassword);
    let options =
        streamit_client::JoinOptions::new().password(RoomPassword::new("sesame").unwrap());
    let (session, _events) = member.join_room_with(code, options).await.unwrap();
    assert_eq!(session.code(), code);

    let approval = CreateRoomRequest::default().with_entry_mode(EntryMode::Approval);
    let gated = host.create_room(&approval).await.unwrap().room.code;
    match member.join_room(gated).await {
        Err(Error::PendingApproval { room }) => assert_eq!(room.code, gated),
        other => panic!("wanted PendingApproval, got {other:?}"),
    }
    host.approve(gated, member.user().unwrap().id)
        .await
        .unwrap();
    let (_session, _events, snapshot) = join_connected(&member, gated).await;
    assert_eq!(snapshot.room.code, gated);

    let open = open_room(&host).await;
    host.delete_room(open).await.unwrap();
    refused(member.join_room(open).await, 410, ErrorCode::RoomClosed);
}

#[tokio::test]
async fn a_failure_without_the_protocols_body_keeps_its_status() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    // A proxy's error page: not JSON, with a Retry-After header in seconds.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            let answer = "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\nretry-after: 3\r\n\
                          content-length: 6\r\nconnection: close\r\n\r\n<html>";
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    let error = client_for(&base_url).providers().await.expect_err("502");
    let api = error.as_api().expect("an API failure");
    assert_eq!((api.status, api.code), (502, ErrorCode::Unknown));
    assert_eq!(api.retry_after, Some(Duration::from_secs(3)));
}
