//! JSON Web Tokens. Accord signs HS256 tokens (the algorithm pinned, a `kid` naming
//! the secret so a second one can be rotated in) and can also accept RS256, ES256 or
//! EdDSA tokens of an external identity provider whose public key is configured.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode};
use lru::LruCache;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::{ExternalKey, JwtConfig};
use crate::error::{ApiError, Result};

/// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: u64 = 60;

/// Claims of an Accord token. The registered time claims are whole seconds: a token
/// whose claims have the wrong type (a string `nbf`, a fractional `exp`) is rejected,
/// not coerced.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    org: Uuid,
    role: Role,
    exp: i64,
    iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    iss: String,
    aud: String,
}

/// What a verified token says about its bearer.
#[derive(Debug, Clone, Copy)]
pub struct VerifiedClaims {
    pub user_id: Uuid,
    pub org_id: Uuid,
}

struct Secret {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Secret {
    fn new(secret: &[u8]) -> Self {
        // The kid names the secret without revealing it.
        let kid = hex::encode(&Sha256::digest(secret)[..8]);
        Self { kid, encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret) }
    }
}

/// Verified tokens remembered at most, and the longest remembered: a client sends the
/// same token on every request, and verifying it again (its header and claims parsed
/// twice, a keyed hash) was 8 % of a lead detail's instructions.
const VERIFIED: NonZeroUsize = NonZeroUsize::new(4_096).unwrap();
const VERIFIED_MAX_LEN: usize = 2_048;

/// The keys Accord signs and verifies tokens with.
pub struct JwtKeys {
    /// Tokens these keys verified, by their text, with their claims and expiry. Only
    /// tokens that passed every check are kept; one past its expiry is checked again
    /// (and rejected).
    verified: Mutex<LruCache<Box<str>, (VerifiedClaims, i64)>>,
    current: Secret,
    previous: Option<Secret>,
    external: Option<ExternalKey>,
    issuer: String,
    audience: String,
    max_ttl_secs: i64,
}

impl JwtKeys {
    pub fn new(config: &JwtConfig) -> anyhow::Result<Self> {
        let external = match &config.public_key_pem {
            Some(pem) => Some(ExternalKey::from_pem(pem).map_err(|e| anyhow::anyhow!("ACCORD_JWT_PUBLIC_KEY: {e}"))?),
            None => None,
        };
        Ok(Self {
            verified: Mutex::new(LruCache::new(VERIFIED)),
            current: Secret::new(&config.secret),
            previous: config.previous_secret.as_deref().map(Secret::new),
            external,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            max_ttl_secs: i64::try_from(config.max_ttl.as_secs()).unwrap_or(i64::MAX),
        })
    }

    /// Sign a token for a user, valid for `ttl` (at most the longest lifetime accepted).
    pub fn issue(&self, user_id: Uuid, org_id: Uuid, role: Role, ttl: Duration) -> Result<(String, DateTime<Utc>)> {
        let now = Utc::now();
        let ttl = ttl.min(std::time::Duration::from_secs(self.max_ttl_secs.max(0) as u64));
        let expires_at = now + chrono::Duration::from_std(ttl).map_err(ApiError::internal)?;
        let claims = Claims {
            sub: user_id,
            org: org_id,
            role,
            exp: expires_at.timestamp(),
            iat: now.timestamp(),
            nbf: None,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.current.kid.clone());
        let token = encode(&header, &claims, &self.current.encoding).map_err(ApiError::internal)?;
        Ok((token, expires_at))
    }

    /// Check a token's signature, algorithm, expiry, start (`nbf`), lifetime, issuer
    /// and audience; a token verified before is only checked for expiry again (the
    /// others cannot change for the same text and keys).
    pub fn verify(&self, token: &str) -> Result<VerifiedClaims> {
        let now = Utc::now().timestamp();
        let unexpired = |exp: i64| now <= exp.saturating_add(LEEWAY_SECS as i64);
        if let Some((claims, exp)) = self.remembered().get(token).copied()
            && unexpired(exp)
        {
            return Ok(claims);
        }
        let (claims, exp) = self.check(token)?;
        if token.len() <= VERIFIED_MAX_LEN && unexpired(exp) {
            self.remembered().put(token.into(), (claims, exp));
        }
        Ok(claims)
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, LruCache<Box<str>, (VerifiedClaims, i64)>> {
        // The map stays consistent whatever panicked while it was held.
        self.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every check of [`Self::verify`]; the claims and the token's expiry.
    fn check(&self, token: &str) -> Result<(VerifiedClaims, i64)> {
        let invalid = |why: &str| ApiError::Unauthenticated(format!("invalid token: {why}"));
        let header = decode_header(token).map_err(|_| invalid("malformed"))?;
        let key = match header.alg {
            Algorithm::HS256 => match header.kid.as_deref() {
                None => &self.current.decoding,
                Some(kid) if kid == self.current.kid => &self.current.decoding,
                Some(kid) => match &self.previous {
                    Some(previous) if previous.kid == kid => &previous.decoding,
                    _ => return Err(invalid("unknown signing key")),
                },
            },
            alg => match &self.external {
                Some(external) if external.algorithm == alg => &external.key,
                _ => return Err(invalid("algorithm not accepted")),
            },
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        let data = decode::<Claims>(token, key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => invalid("expired"),
                ErrorKind::InvalidIssuer => invalid("wrong issuer"),
                ErrorKind::InvalidAudience => invalid("wrong audience"),
                ErrorKind::InvalidSignature => invalid("bad signature"),
                ErrorKind::ImmatureSignature => invalid("not valid yet (nbf is in the future)"),
                ErrorKind::MissingRequiredClaim(claim) => invalid(&format!("missing claim `{claim}`")),
                _ => invalid("malformed claims"),
            }
        })?;
        let claims = data.claims;
        if claims.iat > Utc::now().timestamp() + LEEWAY_SECS as i64 {
            return Err(invalid("issued in the future"));
        }
        if claims.exp.saturating_sub(claims.iat) > self.max_ttl_secs {
            return Err(invalid("lives longer than this server accepts (ACCORD_TOKEN_MAX_TTL)"));
        }
        if claims.nbf.is_some_and(|nbf| nbf > claims.exp) {
            return Err(invalid("malformed claims"));
        }
        Ok((VerifiedClaims { user_id: claims.sub, org_id: claims.org }, claims.exp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str, previous: Option<&str>) -> JwtKeys {
        JwtKeys::new(&JwtConfig {
            secret: secret.as_bytes().to_vec(),
            previous_secret: previous.map(|p| p.as_bytes().to_vec()),
            issuer: "accord".into(),
            audience: "accord".into(),
            public_key_pem: None,
            max_ttl: Duration::from_secs(30 * 24 * 3600),
        })
        .unwrap()
    }

    fn hs256(secret: &str, claims: serde_json::Value) -> String {
        let keys = keys(secret, None);
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(keys.current.kid.clone());
        encode(&header, &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
    }

    fn claims(extra: serde_json::Value) -> serde_json::Value {
        let now = Utc::now().timestamp();
        let mut claims = serde_json::json!({
            "sub": Uuid::now_v7(), "org": Uuid::now_v7(), "role": "ADMIN",
            "exp": now + 3600, "iat": now, "iss": "accord", "aud": "accord"
        });
        for (key, value) in extra.as_object().unwrap() {
            claims[key] = value.clone();
        }
        claims
    }

    #[test]
    fn nbf_is_checked_and_must_be_a_number() {
        let now = Utc::now().timestamp();
        let keys = keys(A, None);
        assert!(keys.verify(&hs256(A, claims(serde_json::json!({ "nbf": now - 10 })))).is_ok());
        assert!(keys.verify(&hs256(A, claims(serde_json::json!({ "nbf": now + 30 })))).is_ok(), "within leeway");
        let future = keys.verify(&hs256(A, claims(serde_json::json!({ "nbf": now + 600 })))).unwrap_err();
        assert!(future.to_string().contains("not valid yet"), "{future}");
        assert!(keys.verify(&hs256(A, claims(serde_json::json!({ "nbf": (now - 10).to_string() })))).is_err());
        assert!(keys.verify(&hs256(A, claims(serde_json::json!({ "exp": (now + 60) as f64 + 0.5 })))).is_err());
    }

    #[test]
    fn a_token_may_not_live_longer_than_the_limit() {
        let now = Utc::now().timestamp();
        let keys = keys(A, None);
        let forever = keys.verify(&hs256(A, claims(serde_json::json!({ "exp": 1i64 << 62 })))).unwrap_err();
        assert!(forever.to_string().contains("longer"), "{forever}");
        assert!(keys.verify(&hs256(A, claims(serde_json::json!({ "exp": now + 31 * 24 * 3600 })))).is_err());
        assert!(keys.verify(&hs256(A, claims(serde_json::json!({ "exp": now + 29 * 24 * 3600 })))).is_ok());
    }

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn a_token_verifies_with_the_key_that_signed_it() {
        let keys = keys(A, None);
        let (user, org) = (Uuid::now_v7(), Uuid::now_v7());
        let (token, _) = keys.issue(user, org, Role::Admin, Duration::from_secs(60)).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.user_id, claims.org_id), (user, org));
    }

    #[test]
    fn a_remembered_token_is_rejected_once_it_expires() {
        let keys = keys(A, None);
        let now = Utc::now().timestamp();
        // Valid for one more second, the leeway included.
        let exp = now - LEEWAY_SECS as i64 + 1;
        let token = hs256(A, claims(serde_json::json!({ "exp": exp, "iat": now - 120 })));
        assert!(keys.verify(&token).is_ok());
        assert!(keys.remembered().contains(token.as_str()));
        std::thread::sleep(Duration::from_millis(2_100));
        let expired = keys.verify(&token).unwrap_err();
        assert!(expired.to_string().contains("expired"), "{expired}");
    }

    #[test]
    fn only_the_text_of_a_verified_token_is_remembered() {
        let keys = keys(A, None);
        let (token, _) = keys.issue(Uuid::now_v7(), Uuid::now_v7(), Role::Admin, Duration::from_secs(60)).unwrap();
        assert!(keys.verify(&token).is_ok());
        // The same header and claims under another signature.
        let mut forged = token.clone().into_bytes();
        let at = forged.len() - 5;
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        let other = hs256(B, claims(serde_json::json!({})));
        for _ in 0..2 {
            assert!(keys.verify(&forged).unwrap_err().to_string().contains("bad signature"));
            assert!(keys.verify(&other).is_err());
        }
        assert!(keys.verify(&token).is_ok());
        assert_eq!(keys.remembered().len(), 1);
    }

    #[test]
    fn tokens_of_the_previous_secret_still_verify_after_rotation() {
        let old = keys(A, None);
        let (token, _) = old.issue(Uuid::now_v7(), Uuid::now_v7(), Role::Member, Duration::from_secs(60)).unwrap();
        assert!(keys(B, Some(A)).verify(&token).is_ok());
        assert!(keys(B, None).verify(&token).is_err());
    }
}
