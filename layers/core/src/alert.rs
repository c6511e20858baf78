//! The SL1 alert: every field of SL1's `POST /api/alert` body, and the per-source defaults.

use serde::{Deserialize, Serialize};

/// The JSON body GenHook posts to SL1's alert API. SL1 documents every value as a string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Sub-entity type (`"0"` when not used).
    pub force_ytype: String,
    /// Sub-entity id (`"0"` when not used).
    pub force_yid: String,
    /// Sub-entity name (`""` when not used).
    pub force_yname: String,
    /// The rendered message: what SL1 event policies match on.
    pub message: String,
    /// Value (`""` by default).
    pub value: String,
    /// Threshold (`""` by default).
    pub threshold: String,
    /// Unix time of the alert, `"0"` meaning now.
    pub message_time: String,
    /// The entity the alert is aligned to: `/api/organization/ID` or `/api/device/ID`.
    pub aligned_resource: String,
}

/// A source's SL1 fields other than the message, at SL1's defaults unless the source sets them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertDefaults {
    /// `force_ytype`, default `"0"`.
    pub force_ytype: String,
    /// `force_yid`, default `"0"`.
    pub force_yid: String,
    /// `force_yname`, default `""`.
    pub force_yname: String,
    /// `value`, default `""`.
    pub value: String,
    /// `threshold`, default `""`.
    pub threshold: String,
    /// `message_time`, default `"0"`.
    pub message_time: String,
    /// `aligned_resource`, default `/api/organization/0`.
    pub aligned_resource: String,
}

impl Default for AlertDefaults {
    fn default() -> Self {
        Self {
            force_ytype: "0".into(),
            force_yid: "0".into(),
            force_yname: String::new(),
            value: String::new(),
            threshold: String::new(),
            message_time: "0".into(),
            aligned_resource: "/api/organization/0".into(),
        }
    }
}

impl AlertDefaults {
    /// The alert for a rendered message.
    pub fn alert(&self, message: impl Into<String>) -> Alert {
        Alert {
            force_ytype: self.force_ytype.clone(),
            force_yid: self.force_yid.clone(),
            force_yname: self.force_yname.clone(),
            message: message.into(),
            value: self.value.clone(),
            threshold: self.threshold.clone(),
            message_time: self.message_time.clone(),
            aligned_resource: self.aligned_resource.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_sl1_defaults() {
        let alert = AlertDefaults::default().alert("hello");
        let json = serde_json::to_value(&alert).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "force_ytype": "0", "force_yid": "0", "force_yname": "", "message": "hello",
                "value": "", "threshold": "", "message_time": "0",
                "aligned_resource": "/api/organization/0"
            })
        );
    }
}
