"""Which webhook URLs a job may name: http(s) only, to listed hosts only, and only with a signing secret."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from core.exceptions import InvalidInput

FIELD = "webhook_url"
SCHEMES = ("http", "https")


def _refuse(reason: str) -> InvalidInput:
    return InvalidInput(f"{FIELD}: {reason}", field=FIELD)


@dataclass(frozen=True)
class WebhookPolicy:
    """``hosts`` entries are ``host`` (any port) or ``host:port``; nothing else is ever fetched (SSRF)."""

    enabled: bool = False
    hosts: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, *, secret: str, hosts: str) -> WebhookPolicy:
        listed = frozenset(entry.strip().lower() for entry in hosts.split(",") if entry.strip())
        return cls(enabled=bool(secret), hosts=listed)

    def check(self, url: str) -> str:
        """The URL, once it is allowed; a 422 naming ``webhook_url`` otherwise."""
        if not self.enabled:
            raise _refuse("webhooks are not configured on this server")
        if any(ch.isspace() or not ch.isprintable() for ch in url):
            raise _refuse("must not contain spaces or control characters")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise _refuse("not a valid URL") from None
        if parts.scheme.lower() not in SCHEMES:
            raise _refuse("must be an http or https URL")
        if parts.username is not None or parts.password is not None:
            raise _refuse("must not carry credentials")
        host = (parts.hostname or "").lower()
        if not host:
            raise _refuse("must name a host")
        # An IPv6 address is listed in brackets with a port, bare without one.
        named = f"[{host}]" if ":" in host else host
        port = port if port is not None else (443 if parts.scheme.lower() == "https" else 80)
        if not {host, named, f"{named}:{port}"} & self.hosts:
            raise _refuse("host is not in PIXY_WEBHOOK_HOSTS")
        return url
