"""Where a webhook may go, and the one HTTP request that takes it there.

An endpoint's URL is checked when it is saved and again, on the address it
resolves to then, at every send: a name that pointed at a public address when
it was saved can point at 127.0.0.1 or the cloud's metadata service later (DNS
rebinding). The request then goes to the very address that was checked (the
name is kept for the Host header and TLS), never follows a redirect, and has
short timeouts. Private, loopback, link-local and other non-public addresses are
refused unless WEBHOOKS_ALLOW_PRIVATE_URLS (on in development and tests, off in
production settings).
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings


class Refused(Exception):
    """A URL or address webhooks may not go to; ``str()`` says why, for people."""


@dataclass
class Answer:
    status_code: int
    body: str
    duration_ms: int


def _public(address):
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _parts(url):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Refused("Use an http:// or https:// URL.")
    if not parts.hostname:
        raise Refused("The URL has no host.")
    if parts.username or parts.password:
        raise Refused("Put no user name or password in the URL; verify the signature instead.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused("The URL's port is not a number from 1 to 65535.") from None
    return parts, port


def _addresses(host, port):
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Refused(f"{host} does not resolve to an address.") from None
    return list(dict.fromkeys(info[4][0] for info in found))


def checked_addresses(url):
    """The addresses ``url``'s host resolves to now, all public unless
    WEBHOOKS_ALLOW_PRIVATE_URLS; ``Refused`` otherwise."""
    parts, port = _parts(url)
    addresses = _addresses(parts.hostname, port)
    if not settings.WEBHOOKS_ALLOW_PRIVATE_URLS:
        private = [a for a in addresses if not _public(a)]
        if private:
            raise Refused(
                f"{parts.hostname} resolves to {private[0]}, a private, loopback or "
                "otherwise non-public address: webhooks go only to the public internet."
            )
    return addresses


def post(url, body, headers):
    """POST ``body`` (bytes) to ``url`` at an address checked just now; the answer
    (its body cut to WEBHOOKS_RESPONSE_BODY_LIMIT characters). Raises
    ``Refused`` for an address it may not use, urllib3's errors for a network
    failure or a timeout."""
    parts, port = _parts(url)
    address = checked_addresses(url)[0]
    timeout = urllib3.Timeout(
        connect=settings.WEBHOOKS_CONNECT_TIMEOUT_SECONDS,
        read=settings.WEBHOOKS_READ_TIMEOUT_SECONDS,
    )
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            server_hostname=parts.hostname,
            assert_hostname=parts.hostname,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    started = time.monotonic()
    with pool:
        response = pool.urlopen(
            "POST",
            path,
            body=body,
            headers={**headers, "Host": host},
            redirect=False,
            retries=False,
            preload_content=False,
        )
        limit = settings.WEBHOOKS_RESPONSE_BODY_LIMIT
        try:
            text = response.read(limit * 4, decode_content=True).decode("utf-8", "replace")
        finally:
            response.release_conn()
    return Answer(
        status_code=response.status,
        body=text[:limit],
        duration_ms=int((time.monotonic() - started) * 1000),
    )
