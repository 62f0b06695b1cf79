"""Which webhook URLs the policy lets a job name: with a secret, only those to listed hosts."""

from __future__ import annotations

import pytest

from core.exceptions import InvalidInput
from service.webhooks.policy import WebhookPolicy
from tests.webhook_receiver import SECRET

URLS = ["http://127.0.0.1:8080/hook", "https://example.com/hook", "http://localhost/", "http://[::1]:9/"]


@pytest.mark.parametrize("hosts", ["", " ", " , ,"])
@pytest.mark.parametrize("url", URLS)
def test_with_a_secret_but_no_host_listed_every_url_is_refused(hosts, url):
    policy = WebhookPolicy.from_settings(secret=SECRET, hosts=hosts)
    with pytest.raises(InvalidInput) as refused:
        policy.check(url)
    assert refused.value.field == "webhook_url" and "PIXY_WEBHOOK_HOSTS" in refused.value.message


def test_a_listed_host_is_allowed_on_any_port_and_a_listed_port_on_that_port_only():
    policy = WebhookPolicy.from_settings(secret=SECRET, hosts="example.com, 127.0.0.1:8080")
    assert policy.check("https://example.com:8443/hook") == "https://example.com:8443/hook"
    assert policy.check("http://127.0.0.1:8080/hook") == "http://127.0.0.1:8080/hook"
    with pytest.raises(InvalidInput):
        policy.check("http://127.0.0.1:8081/hook")
