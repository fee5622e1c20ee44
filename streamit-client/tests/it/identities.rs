//! Many identities on one connection pool: `Client::with_identity` / `with_tokens` and
//! `ClientBuilder::http_client` share connections but never logins.

use streamit_client::Client;

use crate::support::{PATIENCE, TestServer, name_of};
use streamit_client::netem::{Conditions, NetemProxy};

#[tokio::test]
async fn identities_share_the_pool_but_not_the_login() {
    let server = TestServer::start(|_| {}).await;
    let proxy = NetemProxy::start(server.addr, Conditions::new())
        .await
        .unwrap();
    let pool = Client::builder(proxy.base_url())
        .no_proxy()
        .timeout(PATIENCE)
        .build()
        .unwrap();
    let ada = pool.with_identity();
    let bo = pool.with_identity();
    ada.guest(Some(name_of("Ada"))).await.unwrap();
    bo.guest(Some(name_of("Bo"))).await.unwrap();

    assert!(
        !pool.is_signed_in(),
        "signing identities in leaves the pool's own login alone"
    );
    let (ada_me, bo_me) = (ada.me().await.unwrap(), bo.me().await.unwrap());
    assert_eq!(ada_me.display_name.as_str(), "Ada");
    assert_eq!(bo_me.display_name.as_str(), "Bo");
    assert_ne!(ada.tokens(), bo.tokens());
    assert_eq!(ada.base_url(), pool.base_url());

    let bo_again = pool.with_tokens(bo.tokens().unwrap());
    assert_eq!(bo_again.me().await.unwrap().id, bo_me.id);

    ada.logout().await.unwrap();
    assert!(!ada.is_signed_in());
    assert_eq!(
        bo.me().await.unwrap().id,
        bo_me.id,
        "one identity's logout is not another's"
    );
    assert_eq!(
        proxy.connections(),
        1,
        "every call, whoever made it, went over the one pooled connection"
    );
}

#[tokio::test]
async fn clients_built_on_one_reqwest_client_share_its_pool() {
    let server = TestServer::start(|_| {}).await;
    let proxy = NetemProxy::start(server.addr, Conditions::new())
        .await
        .unwrap();
    let shared = reqwest::Client::builder()
        .no_proxy()
        .timeout(PATIENCE)
        .build()
        .unwrap();
    let clients: Vec<Client> = (0..3)
        .map(|_| {
            Client::builder(proxy.base_url())
                .http_client(shared.clone())
                .build()
                .unwrap()
        })
        .collect();
    for (i, client) in clients.iter().enumerate() {
        let name = format!("Bot{i}");
        let signed_in = client.guest(Some(name_of(&name))).await.unwrap();
        assert_eq!(client.me().await.unwrap().id, signed_in.user.id);
    }
    assert_eq!(proxy.connections(), 1);
}
