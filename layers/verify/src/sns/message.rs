//! The SNS message: the JSON envelope parsed into [`SnsMessage`], with the canonical string its
//! signature covers (which keys, in which order, depends on the message type).

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::VerifyError;

/// The kind of an SNS message (`Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnsMessageType {
    /// `Notification`.
    Notification,
    /// `SubscriptionConfirmation`.
    SubscriptionConfirmation,
    /// `UnsubscribeConfirmation`.
    UnsubscribeConfirmation,
}

/// The signature algorithm (`SignatureVersion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureVersion {
    /// `1`: RSA PKCS#1 v1.5 with SHA-1.
    V1,
    /// `2`: RSA PKCS#1 v1.5 with SHA-256.
    V2,
}

/// A parsed, not yet verified SNS message.
#[derive(Debug, Clone)]
pub struct SnsMessage {
    message_type: SnsMessageType,
    version: SignatureVersion,
    signature: Vec<u8>,
    signing_cert_url: String,
    canonical: String,
    topic_arn: String,
    value: Arc<Value>,
}

const NOTIFICATION_KEYS: &[(&str, bool)] = &[
    ("Message", true),
    ("MessageId", true),
    ("Subject", false),
    ("Timestamp", true),
    ("TopicArn", true),
    ("Type", true),
];
const CONFIRMATION_KEYS: &[(&str, bool)] = &[
    ("Message", true),
    ("MessageId", true),
    ("SubscribeURL", true),
    ("Timestamp", true),
    ("Token", true),
    ("TopicArn", true),
    ("Type", true),
];

fn text<'a>(
    map: &'a Map<String, Value>,
    key: &'static str,
) -> Result<Option<&'a str>, VerifyError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(VerifyError::MalformedBody("an SNS field is not a string")),
    }
}

fn required<'a>(map: &'a Map<String, Value>, key: &'static str) -> Result<&'a str, VerifyError> {
    text(map, key)?.ok_or(VerifyError::MalformedBody("an SNS field is missing"))
}

/// Parses an SNS message and builds its canonical string.
///
/// # Errors
/// [`VerifyError::UnsignedSnsMessage`] for a body that is not a signed SNS envelope (raw message
/// delivery), [`VerifyError::MalformedBody`] or [`VerifyError::Malformed`] for a broken one.
pub fn parse_message(body: &[u8]) -> Result<SnsMessage, VerifyError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| VerifyError::UnsignedSnsMessage)?;
    let Value::Object(map) = &value else {
        return Err(VerifyError::UnsignedSnsMessage);
    };
    let Some(signature) = text(map, "Signature")? else {
        return Err(VerifyError::UnsignedSnsMessage);
    };
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .map_err(|_| VerifyError::Malformed("`Signature` field".into()))?;
    let version = match required(map, "SignatureVersion")? {
        "1" => SignatureVersion::V1,
        "2" => SignatureVersion::V2,
        _ => return Err(VerifyError::Malformed("`SignatureVersion` field".into())),
    };
    let (message_type, keys) = match required(map, "Type")? {
        "Notification" => (SnsMessageType::Notification, NOTIFICATION_KEYS),
        "SubscriptionConfirmation" => (SnsMessageType::SubscriptionConfirmation, CONFIRMATION_KEYS),
        "UnsubscribeConfirmation" => (SnsMessageType::UnsubscribeConfirmation, CONFIRMATION_KEYS),
        _ => return Err(VerifyError::MalformedBody("unknown SNS message type")),
    };
    let mut canonical = String::new();
    for &(key, is_required) in keys {
        let value = if is_required {
            Some(required(map, key)?)
        } else {
            text(map, key)?
        };
        if let Some(value) = value {
            canonical.push_str(key);
            canonical.push('\n');
            canonical.push_str(value);
            canonical.push('\n');
        }
    }
    let signing_cert_url = required(map, "SigningCertURL")?.to_owned();
    let topic_arn = required(map, "TopicArn")?.to_owned();
    Ok(SnsMessage {
        message_type,
        version,
        signature,
        signing_cert_url,
        canonical,
        topic_arn,
        value: Arc::new(value),
    })
}

impl SnsMessage {
    /// The message type.
    pub fn message_type(&self) -> SnsMessageType {
        self.message_type
    }

    /// The signature version.
    pub fn signature_version(&self) -> SignatureVersion {
        self.version
    }

    /// The decoded `Signature`.
    pub(crate) fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The string the signature covers.
    pub fn canonical_string(&self) -> &str {
        &self.canonical
    }

    /// The `SigningCertURL`, unchecked.
    pub fn signing_cert_url(&self) -> &str {
        &self.signing_cert_url
    }

    /// The `TopicArn`.
    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    /// The whole envelope as JSON.
    pub fn value(&self) -> &Arc<Value> {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_string_follows_the_message_type() {
        let body = br#"{"Type":"Notification","MessageId":"m","TopicArn":"t","Message":"a\nb","Timestamp":"ts","SignatureVersion":"2","Signature":"AAAA","SigningCertURL":"https://sns.us-east-1.amazonaws.com/c.pem"}"#;
        let message = parse_message(body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            message.canonical_string(),
            "Message\na\nb\nMessageId\nm\nTimestamp\nts\nTopicArn\nt\nType\nNotification\n"
        );
        assert_eq!(message.signature_version(), SignatureVersion::V2);
        let confirmation = br#"{"Type":"SubscriptionConfirmation","MessageId":"m","TopicArn":"t","Message":"x","Timestamp":"ts","Token":"k","SubscribeURL":"u","SignatureVersion":"1","Signature":"AAAA","SigningCertURL":"c"}"#;
        let message = parse_message(confirmation).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            message.canonical_string(),
            "Message\nx\nMessageId\nm\nSubscribeURL\nu\nTimestamp\nts\nToken\nk\nTopicArn\nt\nType\nSubscriptionConfirmation\n"
        );
        let no_token = br#"{"Type":"SubscriptionConfirmation","MessageId":"m","TopicArn":"t","Message":"x","Timestamp":"ts","SubscribeURL":"u","SignatureVersion":"1","Signature":"AAAA","SigningCertURL":"c"}"#;
        assert!(parse_message(no_token).is_err());
        let v3 = br#"{"Type":"Notification","MessageId":"m","TopicArn":"t","Message":"x","Timestamp":"ts","SignatureVersion":"3","Signature":"AAAA","SigningCertURL":"c"}"#;
        assert!(parse_message(v3).is_err());
    }
}
