//! AWS SNS facts two stages share: the host rule that says which URLs belong to SNS. The verify
//! stage fetches a `SigningCertURL` only from such a host, the identify stage confirms a
//! subscription (`SubscribeURL`) only there; both ask this one rule, so neither stage reaches
//! into the other.

/// Whether `host` is an AWS SNS host: `sns.<region>.amazonaws.com` or
/// `sns.<region>.amazonaws.com.cn`, the region at least three characters of `[A-Za-z0-9-]` (the
/// official validators' default pattern).
pub fn is_sns_host(host: &str) -> bool {
    let Some(rest) = host.strip_prefix("sns.") else {
        return false;
    };
    let region = rest
        .strip_suffix(".amazonaws.com.cn")
        .or_else(|| rest.strip_suffix(".amazonaws.com"));
    region.is_some_and(|region| {
        region.len() >= 3
            && region
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sns_hosts_follow_the_official_validators_pattern() {
        for good in [
            "sns.us-east-1.amazonaws.com",
            "sns.eu-central-2.amazonaws.com",
            "sns.cn-north-1.amazonaws.com.cn",
            "sns.us-gov-west-1.amazonaws.com",
        ] {
            assert!(is_sns_host(good), "{good}");
        }
        for bad in [
            "sns.us-east-1.amazonaws.com.evil.example",
            "evil.example",
            "sns.amazonaws.com",
            "sns.eu.amazonaws.com",
            "s3.us-east-1.amazonaws.com",
            "sns.us-east-1.amazonaws.co",
            "xsns.us-east-1.amazonaws.com",
            "sns.us.east.amazonaws.com",
            "sns.us_east_1.amazonaws.com",
            "sns.us-east-1.amazonaws.com.",
            "",
        ] {
            assert!(!is_sns_host(bad), "{bad}");
        }
    }
}
