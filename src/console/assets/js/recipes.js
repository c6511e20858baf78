// Each provider's set-up recipe (README, "Connecting a provider"), shown once a mapping is saved.

export const SCHEMES = [
  ['none', 'none (no signature check)'], ['github', 'GitHub (X-Hub-Signature-256)'], ['stripe', 'Stripe'],
  ['slack', 'Slack'], ['aws-sns', 'AWS SNS'], ['meraki', 'Cisco Meraki'], ['jira', 'Jira'],
  ['azure', 'Azure Event Grid'], ['shopify', 'Shopify'], ['standard-webhooks', 'Standard Webhooks (Svix …)'],
  ['hmac-sha256', 'HMAC-SHA256 (generic)'], ['token', 'token header'], ['basic', 'HTTP Basic'], ['api-key', 'API key header'],
];

/** Schemes that take a `secret =`. */
export function needsSecret(scheme) {
  return !['none', 'aws-sns', ''].includes(scheme);
}

const RECIPES = {
  github: [
    'In the repository or organisation: Settings → Webhooks → Add webhook.',
    'Payload URL: the URL above; Content type: application/json.',
    'Secret: the value of the secret variable GenHook reads (set it in GenHook\'s environment).',
    'Choose the events; GitHub sends a ping at once (answered 200, not forwarded).',
  ],
  stripe: ['Developers → Webhooks → Add endpoint: the URL above; pick the events.', 'Copy the signing secret (whsec_…) into the secret variable.'],
  slack: ['App configuration → Event Subscriptions → Request URL: the URL above (the challenge is answered).', 'Basic Information → Signing Secret into the secret variable.'],
  'aws-sns': ['Create an HTTPS subscription of the topic to the URL above (raw message delivery off).', 'The subscription confirmation is answered once its signature checks out.'],
  meraki: ['Network-wide → Alerts → Webhooks: the URL above and a shared secret (the secret variable).'],
  jira: ['System → WebHooks → Create: the URL above and a secret (the secret variable).'],
  azure: ['Event subscription with a Webhook endpoint: the URL above with ?code=SECRET (or a delivery header).'],
  shopify: ['Settings → Notifications → Webhooks (or the app\'s subscriptions): the URL above.', 'The app\'s secret into the secret variable.'],
};

/** The steps for a scheme. */
export function recipe(scheme) {
  return RECIPES[scheme] || [
    'Point the provider at the URL above with a POST of its JSON payload.',
    scheme && scheme !== 'none' ? `Configure the ${scheme} credentials the provider sends to match the secret variable.` : 'No signature is checked: keep the URL token secret.',
  ];
}
