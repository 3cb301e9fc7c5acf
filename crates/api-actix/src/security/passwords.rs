//! The password port on argon2id, run on a pool of its own off the async workers.

use std::cell::RefCell;
use std::sync::Arc;

use argon2::password_hash::{
    rand_core::OsRng, Output, ParamsString, PasswordHash as PhcHash, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use domain::{HashError, Password, PasswordHash, PasswordHasher};

/// argon2id with OWASP's parameters: 19 MiB, 2 iterations, 1 lane.
///
/// Hashing runs on a small pool of its own, one thread per core, never on the async
/// workers. Each hash is CPU-bound, so more threads would add no throughput, and each
/// thread keeps one 19 MiB working area that every hash reuses: memory stays at
/// `threads × 19 MiB` under any burst of logins, and no hash pays for fresh pages.
#[derive(Clone)]
pub struct Argon2Hasher {
    params: Params,
    pool: Arc<rayon::ThreadPool>,
    /// A real hash of a random password, verified against when the user is unknown so
    /// that path costs the same as a wrong password.
    dummy: Arc<String>,
}

/// Hashes with more memory than this (64 MiB) are refused rather than computed.
const MAX_BLOCKS: usize = 64 * 1024;

thread_local! {
    /// This hashing thread's argon2 working memory, allocated once.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// argon2 into `out`, in this thread's reused working memory.
fn argon2_into(
    argon: &Argon2<'_>,
    blocks: usize,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), HashError> {
    if blocks > MAX_BLOCKS {
        return Err(HashError("argon2 memory cost too high".into()));
    }
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon
            .hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
            .map_err(|e| HashError(e.to_string()))
    })
}

/// A new PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) for the password.
fn hash_phc(params: &Params, password: &[u8]) -> Result<String, HashError> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(|e| HashError(e.to_string()))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2_into(&argon, params.block_count(), password, salt_bytes, &mut out)?;
    let phc = PhcHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| HashError(e.to_string()))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| HashError(e.to_string()))?),
    };
    Ok(phc.to_string())
}

/// Whether the password matches the PHC string, with the parameters it names.
fn verify_phc(phc: &str, password: &[u8]) -> bool {
    let Ok(parsed) = PhcHash::new(phc) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = parsed.version.map_or(Ok(Version::V0x13), Version::try_from);
    let Ok(version) = version else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    argon2_into(&argon, params.block_count(), password, salt_bytes, &mut out).is_ok()
        // `Output` compares in constant time.
        && Output::new(&out).is_ok_and(|computed| computed == expected)
}

impl Argon2Hasher {
    pub fn new() -> Result<Self, HashError> {
        let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| HashError(e.to_string()))?;
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("argon2-{i}"))
            .build()
            .map_err(|e| HashError(e.to_string()))?;
        let dummy = pool.install(|| hash_phc(&params, uuid::Uuid::new_v4().as_bytes()))?;
        Ok(Self {
            params,
            pool: Arc::new(pool),
            dummy: Arc::new(dummy),
        })
    }

    /// Runs `work` on the hashing pool and waits for it without blocking the caller.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.pool.spawn(move || {
            let _ = done.send(work());
        });
        result.await.ok()
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let (password, params) = (password.clone(), self.params.clone());
        self.run(move || hash_phc(&params, password.expose().as_bytes()).map(PasswordHash))
            .await
            .unwrap_or_else(|| Err(HashError("the hashing pool stopped".into())))
    }

    async fn verify(&self, password: &Password, hash: Option<PasswordHash>) -> bool {
        let password = password.clone();
        let known = hash.is_some();
        let phc = hash.map_or_else(|| self.dummy.as_str().to_owned(), |h| h.0);
        self.run(move || verify_phc(&phc, password.expose().as_bytes()) && known)
            .await
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn argon2_hash_verifies_only_the_right_password() {
        let hasher = Argon2Hasher::new().unwrap();
        let password = Password::parse("correct horse", None).unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        assert!(hash.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify(&password, Some(hash.clone())).await);
        let wrong = Password::parse("wrong horse", None).unwrap();
        assert!(!hasher.verify(&wrong, Some(hash)).await);
        assert!(!hasher.verify(&password, None).await);
    }

    #[test]
    fn hashes_are_standard_phc_strings_the_argon2_crate_verifies() {
        use argon2::password_hash::PasswordVerifier;
        let params = Params::new(19 * 1024, 2, 1, None).unwrap();
        let phc = hash_phc(&params, b"correct horse").unwrap();
        let parsed = PhcHash::new(&phc).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"wrong horse", &parsed)
            .is_err());
        assert!(verify_phc(&phc, b"correct horse"));
        assert!(!verify_phc("not a hash", b"correct horse"));
        assert!(!verify_phc(
            "$argon2id$v=19$m=999999,t=2,p=1$c29tZXNhbHQ$aGFzaA",
            b"x"
        ));
    }
}
