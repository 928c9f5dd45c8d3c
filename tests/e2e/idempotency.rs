//! Run-once keys against a real Postgres.

use aftercare_platform::idempotency::{Claim, claim, complete, request_hash};
use sqlx::PgPool;

use crate::support::{TestDb, start_time};

/// The "effect" of these tests: a row in a table of its own.
async fn effect_table(pool: &PgPool) {
    sqlx::query("CREATE TABLE effects (id serial PRIMARY KEY, note text NOT NULL)")
        .execute(pool)
        .await
        .unwrap();
}

/// Runs the effect once for `key`, returning the (stored or fresh) response.
async fn run_once(pool: &PgPool, key: &str, request: &str) -> Result<Vec<u8>, &'static str> {
    let hash = request_hash(request.as_bytes());
    let mut tx = pool.begin().await.unwrap();
    match claim(&mut tx, "test.Effect", "service:test", key, &hash, None, start_time())
        .await
        .unwrap()
    {
        Claim::Fresh => {
            let id: i32 = sqlx::query_scalar("INSERT INTO effects (note) VALUES ($1) RETURNING id")
                .bind(request)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            let response = format!("effect {id}").into_bytes();
            complete(&mut tx, "test.Effect", "service:test", key, &response)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            Ok(response)
        }
        Claim::Replay(response) => Ok(response),
        Claim::Conflict => Err("conflict"),
    }
}

async fn effects(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM effects")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn replays_return_the_stored_response_and_other_requests_conflict() {
    let db = TestDb::create().await;
    let pool = db.pool(5).await;
    effect_table(&pool).await;
    let first = run_once(&pool, "k1", "refund 10").await.unwrap();
    assert_eq!(run_once(&pool, "k1", "refund 10").await.unwrap(), first);
    assert_eq!(run_once(&pool, "k1", "refund 99").await, Err("conflict"));
    // Another key is another effect.
    assert_ne!(run_once(&pool, "k2", "refund 10").await.unwrap(), first);
    assert_eq!(effects(&pool).await, 2);
}

#[tokio::test]
async fn a_rolled_back_claim_leaves_the_key_free() {
    let db = TestDb::create().await;
    let pool = db.pool(5).await;
    effect_table(&pool).await;
    let hash = request_hash(b"r");
    let mut tx = pool.begin().await.unwrap();
    assert_eq!(
        claim(&mut tx, "test.Effect", "service:test", "k", &hash, None, start_time())
            .await
            .unwrap(),
        Claim::Fresh
    );
    tx.rollback().await.unwrap();
    run_once(&pool, "k", "r").await.unwrap();
    assert_eq!(effects(&pool).await, 1);
}

#[tokio::test]
async fn a_key_claimed_with_its_answer_rolls_back_with_the_effect_and_replays_the_answer() {
    let db = TestDb::create().await;
    let pool = db.pool(5).await;
    let hash = request_hash(b"r");
    let claim_answered = async |answer: &[u8]| {
        let mut tx = pool.begin().await.unwrap();
        let claimed = claim(
            &mut tx,
            "test.Effect",
            "service:test",
            "k",
            &hash,
            Some(answer),
            start_time(),
        )
        .await
        .unwrap();
        (tx, claimed)
    };
    let (tx, claimed) = claim_answered(b"first").await;
    assert_eq!(claimed, Claim::Fresh);
    tx.rollback().await.unwrap();
    // Rolled back: the key is free again, and its answer gone with it.
    let (tx, claimed) = claim_answered(b"second").await;
    assert_eq!(claimed, Claim::Fresh);
    tx.commit().await.unwrap();
    let (_tx, claimed) = claim_answered(b"third").await;
    assert_eq!(claimed, Claim::Replay(b"second".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_have_one_effect() {
    let db = TestDb::create().await;
    let pool = db.pool(25).await;
    effect_table(&pool).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { run_once(&pool, "same-key", "refund 10").await })
        })
        .collect();
    let mut responses = Vec::new();
    for t in tasks {
        responses.push(t.await.unwrap().unwrap());
    }
    assert!(
        responses.iter().all(|r| r == &responses[0]),
        "every duplicate sees the one response"
    );
    assert_eq!(effects(&pool).await, 1);
}
