//! `verify = shopify`: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(client secret, raw body)>`;
//! newer deliveries send the unprefixed `shopify-hmac-sha256`, which is accepted too.

use crate::keys::Secrets;
use crate::scheme::{Encoding, HmacHeader};

/// Shopify's header.
pub const HEADER: &str = "X-Shopify-Hmac-Sha256";

/// The Shopify scheme.
pub fn verifier(secrets: &Secrets) -> HmacHeader {
    HmacHeader::new(HEADER, "", Encoding::Base64, secrets)
        .named("shopify")
        .or_header("shopify-hmac-sha256")
}
