"""Offline guard for the test run: refuse every network connection except to localhost.

`tests/conftest.py` puts this folder on PYTHONPATH, so the test process and every
process it starts (the CLI, `streamlit run`, generated scripts) import it at start-up
and prove that DNN Lab works with no network at all.
"""

import ipaddress
import os
import socket

LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost", "0.0.0.0", "::"}


def _is_local(address) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths
        return True
    host = str(address[0])
    return host in LOCAL_HOSTS or host.startswith("127.") or host.startswith("::ffff:127.")


def _is_numeric(host) -> bool:
    """A literal address needs no lookup; `connect` decides whether it may be reached."""
    try:
        ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host))
    except ValueError:
        return False
    return True


def install() -> None:
    if getattr(socket.socket.connect, "offline_guard", False):
        return
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            raise ConnectionRefusedError(f"offline test: connection to {address} refused")
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            return 111  # ECONNREFUSED
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not _is_local((host,)) and not _is_numeric(host):
            raise socket.gaierror(socket.EAI_NONAME, f"offline test: no name lookups ({host})")
        return real_getaddrinfo(host, *args, **kwargs)

    connect.offline_guard = True
    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo


if os.environ.get("DNNLAB_OFFLINE_GUARD") == "1":
    install()
