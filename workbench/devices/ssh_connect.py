"""Opening an SSH connection with paramiko: ~/.ssh/config, known_hosts, keys, ProxyJump.

A ProxyJump value may list several hops (``a,b``): the connection goes to a,
from a to b, and from b to the board; each hop is logged in to, and its host
key checked, like the board itself.

Host keys are checked against the system and user known_hosts files and any
files given (a class's shared known_hosts). An unknown key is refused with its
fingerprint (:class:`UnknownHostKey`); a changed key is refused and never
replaced here (:class:`HostKeyChanged`). Trusting a key is an explicit call
(:func:`trust_host_key`). There is no auto-add policy anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from workbench import errors
from workbench._atomic import write_atomic

if TYPE_CHECKING:
    import paramiko

SYSTEM_KNOWN_HOSTS = Path("/etc/ssh/ssh_known_hosts")
DEFAULT_TIMEOUT_S = 10.0
KEEPALIVE_S = 10


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint of a public key (as ``ssh-keygen -lf`` prints it)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


@dataclass
class Endpoint:
    """Where and how to log in, after ~/.ssh/config and explicit arguments are merged."""

    alias: str
    hostname: str
    port: int = 22
    user: str | None = None
    key_filenames: list[str] = field(default_factory=list)
    password: str | None = field(default=None, repr=False)
    proxy_jump: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    known_hosts: list[Path] = field(default_factory=list)
    user_known_hosts: Path = field(default_factory=lambda: Path.home() / ".ssh" / "known_hosts")
    ssh_config: Path | None = None
    allow_agent: bool = True
    look_for_keys: bool = True
    #: key files the config or the caller named that are missing or unreadable (skipped)
    skipped_keys: list[str] = field(default_factory=list)

    def skipped_note(self) -> str:
        """Which key files were skipped, for an error message; empty when none."""
        if not self.skipped_keys:
            return ""
        return (f"; the key file {', '.join(self.skipped_keys)} is missing or unreadable and "
                "was skipped")

    @property
    def host_entry(self) -> str:
        """The name known_hosts uses: ``host`` on port 22, else ``[host]:port``."""
        return self.hostname if self.port == 22 else f"[{self.hostname}]:{self.port}"

    def where(self) -> str:
        return f"{self.user + '@' if self.user else ''}{self.hostname}:{self.port}"


def resolve(alias: str, *, host: str | None = None, user: str | None = None,
            port: int | None = None, key_filename: str | Sequence[str] | None = None,
            password: str | None = None, proxy_jump: str | None = None,
            timeout: float | None = None, known_hosts: Sequence[str | Path] = (),
            user_known_hosts: str | Path | None = None, ssh_config: str | Path | None = None,
            allow_agent: bool = True, look_for_keys: bool = True) -> Endpoint:
    """Merge the user's ssh config entry for ``alias`` with explicit overrides."""
    import paramiko

    config_path = Path(ssh_config) if ssh_config else Path.home() / ".ssh" / "config"
    entry: dict[str, Any] = {}
    if config_path.is_file():
        entry = paramiko.SSHConfig.from_path(str(config_path)).lookup(alias)
    keys = [key_filename] if isinstance(key_filename, str) else list(key_filename or [])
    keys = keys or [os.path.expanduser(k) for k in entry.get("identityfile", [])]
    # As OpenSSH: a key file that is missing or unreadable is skipped (and named if the login
    # fails); with IdentitiesOnly only the named files are tried, no default keys, no agent.
    skipped = [k for k in keys if not (os.path.isfile(k) and os.access(k, os.R_OK))]
    keys = [k for k in keys if k not in skipped]
    if str(entry.get("identitiesonly", "no")).lower() == "yes":
        allow_agent = look_for_keys = False
    jump = proxy_jump or entry.get("proxyjump")
    return Endpoint(
        alias=alias, hostname=host or entry.get("hostname", alias),
        port=int(port or entry.get("port", 22)), user=user or entry.get("user"),
        key_filenames=keys, password=password,
        proxy_jump=None if jump in (None, "none") else jump,
        timeout=float(timeout or entry.get("connecttimeout", DEFAULT_TIMEOUT_S)),
        known_hosts=[Path(p) for p in known_hosts],
        user_known_hosts=Path(user_known_hosts) if user_known_hosts else
        Path.home() / ".ssh" / "known_hosts",
        ssh_config=config_path if config_path.is_file() else None,
        allow_agent=allow_agent, look_for_keys=look_for_keys, skipped_keys=skipped)


def jump_hops(proxy_jump: str) -> list[str]:
    """The hops of a ProxyJump value in the order they are crossed: ``a,b`` is a, then b."""
    return [hop.strip() for hop in proxy_jump.split(",") if hop.strip()]


def parse_hop(hop: str) -> tuple[str | None, str, int | None]:
    """User, host and port of one hop: ``[user@]host[:port]``, ``[user@][v6 address]:port``
    or the same after ``ssh://``, as ssh_config writes them."""
    rest = hop.removeprefix("ssh://")
    user, _, host = rest.rpartition("@")
    port = ""
    if host.startswith("["):
        host, _, port = host[1:].partition("]")
        port = port.removeprefix(":")
    elif host.count(":") == 1:
        host, _, port = host.partition(":")
    if port and not port.isdigit():
        raise errors.DeviceError(f"The ProxyJump hop {hop!r} has no valid port",
                                 where=f"ProxyJump {hop}",
                                 hint="Write each hop as [user@]host[:port], hops separated "
                                 "by commas")
    return user or None, host, int(port) if port else None


def _known_host_files(endpoint: Endpoint) -> list[Path]:
    files = [SYSTEM_KNOWN_HOSTS, endpoint.user_known_hosts, *endpoint.known_hosts]
    return [f for f in files if f.is_file()]


def _refusing_policy(endpoint: Endpoint) -> Any:
    import paramiko

    class RefuseUnknown(paramiko.RejectPolicy):
        """paramiko's RejectPolicy, raising an error that carries the fingerprint."""

        def missing_host_key(self, client: Any, hostname: str, key: paramiko.PKey) -> NoReturn:
            print_ = fingerprint(key)
            raise errors.UnknownHostKey(
                f"The host key of {hostname} is not known ({key.get_name()} {print_})",
                where=endpoint.where(), fingerprint=print_, key_type=key.get_name(),
                hint=("Check the fingerprint with the board's owner (ssh-keygen -lf "
                      "/etc/ssh/ssh_host_*_key.pub on the board), then trust it: "
                      f"device.trust_host_key({print_!r}), or on the command line "
                      f"`workbench device trust {endpoint.alias} {print_}`"))

    return RefuseUnknown()


def _tcp(endpoint: Endpoint) -> socket.socket:
    """A TCP connection to the endpoint; a job's cancel closes it while it connects."""
    from workbench.devices._cancel import interrupting

    infos = socket.getaddrinfo(endpoint.hostname, endpoint.port, 0, socket.SOCK_STREAM)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.settimeout(endpoint.timeout)
    try:
        with interrupting(lambda: _shut(sock), where=endpoint.where(), doing="connecting"):
            sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock


def _shut(sock: Any) -> None:
    """Break every blocking call on ``sock`` (close alone does not wake a reader on Linux)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # not connected yet, or already down
    sock.close()


def _socket(endpoint: Endpoint, jump: Callable[[str], Any] | None) -> Any:
    """A socket to the endpoint, through the jump host's connection when there is one."""
    if not endpoint.proxy_jump:
        try:
            return _tcp(endpoint)
        except socket.gaierror as exc:
            raise errors.UnreachableHost(f"Cannot resolve the host name: {exc.strerror or exc}",
                                         where=endpoint.where(),
                                         hint="Check HostName in ~/.ssh/config or the device "
                                         "registry") from None
        except ConnectionRefusedError:
            raise errors.ConnectionRefused("The connection was refused",
                                           where=endpoint.where()) from None
        except TimeoutError:
            raise errors.UnreachableHost(f"No answer within {endpoint.timeout:g} s",
                                         where=endpoint.where()) from None
        except OSError as exc:
            raise errors.UnreachableHost(f"Cannot reach the host: {exc.strerror or exc}",
                                         where=endpoint.where()) from None
    if jump is None:
        raise errors.UnreachableHost("ProxyJump is set but no jump connection can be made",
                                     where=endpoint.where())
    transport = jump(endpoint.proxy_jump).get_transport()
    try:
        return transport.open_channel("direct-tcpip", (endpoint.hostname, endpoint.port),
                                      ("127.0.0.1", 0), timeout=endpoint.timeout)
    except Exception as exc:  # paramiko.ChannelException and socket errors
        raise errors.UnreachableHost(f"The jump host {endpoint.proxy_jump} cannot reach it: "
                                     f"{exc}", where=endpoint.where()) from None


def open_client(endpoint: Endpoint, *, jump: Callable[[str], Any] | None = None,
                ask_secret: Callable[[str], str | None] | None = None) -> paramiko.SSHClient:
    """A connected, authenticated SSHClient, or a WorkbenchError saying why not."""
    import paramiko

    from workbench.devices._cancel import interrupting

    # paramiko logs a failed handshake with tracebacks (through logging's last-resort handler
    # when nobody configured logging); the WorkbenchError below says it once, clearly.
    quiet = logging.getLogger("paramiko")
    if not any(isinstance(handler, logging.NullHandler) for handler in quiet.handlers):
        quiet.addHandler(logging.NullHandler())
    client = paramiko.SSHClient()
    for path in _known_host_files(endpoint):
        client.load_system_host_keys(str(path))
    client.set_missing_host_key_policy(_refusing_policy(endpoint))
    passphrase: str | None = None
    for _attempt in range(2):
        sock = _socket(endpoint, jump)
        try:
            with interrupting(lambda: _shut(sock), where=endpoint.where(),  # noqa: B023 - used now
                              doing="logging in"):
                client.connect(
                    endpoint.hostname, endpoint.port, username=endpoint.user,
                    # types-paramiko says str; paramiko takes a filename or a list of them
                    key_filename=endpoint.key_filenames or None,  # type: ignore[arg-type]
                    password=endpoint.password,
                    passphrase=passphrase, timeout=endpoint.timeout,
                    banner_timeout=endpoint.timeout, auth_timeout=endpoint.timeout,
                    allow_agent=endpoint.allow_agent, look_for_keys=endpoint.look_for_keys,
                    sock=sock)
            transport = client.get_transport()
            if transport is not None:
                transport.set_keepalive(KEEPALIVE_S)
            return client
        except paramiko.BadHostKeyException as exc:
            sock.close()
            raise errors.HostKeyChanged(
                f"The host key changed: known_hosts has {exc.expected_key.get_name()} "
                f"{fingerprint(exc.expected_key)}, the host now presents "
                f"{exc.key.get_name()} {fingerprint(exc.key)}", where=endpoint.where()) from None
        except paramiko.PasswordRequiredException:
            sock.close()
            secret = ask_secret("Passphrase for the SSH key: ") if ask_secret else None
            if not secret or passphrase is not None:
                raise errors.AuthenticationFailed(
                    "The SSH key is protected by a passphrase that was not given",
                    where=endpoint.where(),
                    hint="Load the key into ssh-agent, or give the passphrase when asked") from None
            passphrase = secret
        except paramiko.AuthenticationException as exc:
            sock.close()
            raise errors.AuthenticationFailed(
                f"The board refused the login: {exc}{endpoint.skipped_note()}",
                where=endpoint.where()) from None
        except errors.WorkbenchError:
            sock.close()
            raise
        except (paramiko.SSHException, EOFError, OSError) as exc:
            sock.close()
            text = str(exc)
            if "No authentication methods" in text:
                raise errors.AuthenticationFailed(
                    f"No key or password to log in with{endpoint.skipped_note()}",
                    where=endpoint.where(),
                    hint="Name a readable key file (IdentityFile in ~/.ssh/config or "
                    "key_filename=...), or give a password") from None
            if "private key" in text or "key file" in text:  # a key file that does not parse
                raise errors.AuthenticationFailed(
                    f"A key file could not be read as a private key ({text}): "
                    f"{', '.join(endpoint.key_filenames) or 'the default keys'}",
                    where=endpoint.where(),
                    hint="Point IdentityFile at the private key (not the .pub file), or "
                    "recreate it with ssh-keygen") from None
            if any(sign in text for sign in ("No existing session", "protocol banner",
                                             "Bad file descriptor")):
                # paramiko's words for a port whose listener is no SSH server, or stays silent
                raise errors.UnreachableHost(
                    f"The SSH handshake failed: no SSH server answered on port {endpoint.port} "
                    f"within {endpoint.timeout:g} s", where=endpoint.where(),
                    hint="Check the port (another service may listen there) and that the "
                    "board's SSH server runs") from None
            raise errors.UnreachableHost(f"The SSH handshake failed: {exc}",
                                         where=endpoint.where()) from None
    raise errors.AuthenticationFailed("The login failed", where=endpoint.where())


def presented_key(endpoint: Endpoint, jump: Callable[[str], Any] | None = None) -> paramiko.PKey:
    """The host key the endpoint presents (a handshake only, no login)."""
    import paramiko

    sock = _socket(endpoint, jump)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=endpoint.timeout)
        return transport.get_remote_server_key()
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise errors.UnreachableHost(f"The SSH handshake failed: {exc}",
                                     where=endpoint.where()) from None
    finally:
        transport.close()


def trust_host_key(endpoint: Endpoint, expected: str,
                   jump: Callable[[str], Any] | None = None) -> Path:
    """Add the host's key to the user's known_hosts if its fingerprint is ``expected``.

    Refuses when the host presents another key, or when known_hosts already
    holds a different key for the host (that is a changed key: never replaced here).
    """
    import paramiko

    key = presented_key(endpoint, jump)
    presented = fingerprint(key)
    if presented != expected:
        raise errors.UnknownHostKey(
            f"The host presents {key.get_name()} {presented}, not the fingerprint given "
            f"({expected})", where=endpoint.where(), fingerprint=presented,
            key_type=key.get_name(), hint="Check the fingerprint again; nothing was trusted")
    known = paramiko.HostKeys()
    for path in _known_host_files(endpoint):
        known.load(str(path))
    for name in (endpoint.host_entry, endpoint.hostname):
        entry: Mapping[str, paramiko.PKey] = known.lookup(name) or {}
        if key.get_name() in entry and entry[key.get_name()] != key:
            raise errors.HostKeyChanged(
                f"known_hosts already holds another {key.get_name()} key for this host",
                where=endpoint.where())
        if key.get_name() in entry:
            return endpoint.user_known_hosts  # already trusted
    path = endpoint.user_known_hosts
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    old = path.read_text() if path.is_file() else ""
    if old and not old.endswith("\n"):
        old += "\n"
    line = f"{endpoint.host_entry} {key.get_name()} {key.get_base64()}\n"
    return write_atomic(path, old + line, error=errors.DeviceError, mode=0o600)
