"""Make a profile document safe to share: who and where it ran is taken out, what ran stays.

:func:`redact` returns a deep copy in which

* the device's ``hostname`` and ``name`` (its alias, such as
  ``board7.lab.example`` or ``alice-pi5``) fields are ``"<host>"``, and the
  alias is scrubbed wherever it occurs;
* absolute paths in strings (``/home/alice/x.onnx``, ``C:\\Users\\...``,
  ``~/models``, ``file:///...``) are ``"<path>"``;
* ``user@host`` is ``"<user>@<host>"``; IPv4 and IPv6 addresses are
  ``"<ip>"``; MAC addresses are ``"<mac>"``;
* host and user names occurring as words are ``"<host>"`` / ``"<user>"``:
  this machine's (``socket.gethostname()``, ``getpass.getuser()``), the
  device's hostname, users found in home paths and ``user@host`` forms in the
  document, and any ``words`` given;
* the value of ``Serial`` lines (``/proc/cpuinfo``) and of ``serial`` keys is
  blanked.

What a comparison needs is kept as it is: the schema, kind and time, the
model's sha256 and format, the device's kind, arch, OS, CPU (clusters,
features, cpuinfo apart from its Serial line), Python/numpy and runtime
versions, the backend's name, version and providers, the version table,
every number (latencies, layer statistics, memory), the layer rows' names,
op types and original nodes, the topology, the trace events, the names of
inputs and outputs and the outputs' values, the executed graph and the
per-layer diff's tensors. Those come from the model, the
hardware or the runtime, not from the machine's owner; graph names in
particular may look like paths (``/features/0/Conv``) and must not be
mangled. Everything else (labels, warnings, model source, backend options,
input specs, run settings, the runtimes' error texts, environment readings)
is scrubbed.

Generic names that identify nobody (``root``, ``pi``, ``localhost``, ...)
are not treated as user or host names, so "root file system" survives.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

HOST, USER, PATH, IP, MAC = "<host>", "<user>", "<path>", "<ip>", "<mac>"

#: names too common to scrub as words: default accounts and hosts, and the placeholders' own
GENERIC_NAMES = frozenset({
    "root", "pi", "ubuntu", "debian", "admin", "user", "users", "host", "localhost",
    "localhost.localdomain", "path", "ip", "mac", "shared", "public", "default", "home",
})

_ANY = "*"
#: where strings are kept as they are; a pattern matches a location and all below it
KEPT: tuple[tuple[str, ...], ...] = (
    ("schema",), ("kind",), ("created",),
    ("model", "sha256"), ("model", "format"),
    ("device", "kind"), ("device", "arch"), ("device", "os"), ("device", "cpu"),
    ("device", "python"), ("device", "numpy"),
    ("device", "runtimes", _ANY, "version"), ("device", "runtimes", _ANY, "providers"),
    ("target",),
    ("backend", "name"), ("backend", "version"), ("backend", "providers"),
    ("versions",),
    ("layers", _ANY, "name"), ("layers", _ANY, "op_type"), ("layers", _ANY, "kind"),
    ("layers", _ANY, "provider"), ("layers", _ANY, "original_nodes"),
    ("layers", _ANY, "reference_nodes"),
    ("topology",), ("trace",), ("delegation",),
    ("inputs", _ANY, "name"), ("inputs", _ANY, "dtype"), ("inputs", _ANY, "sha256"),
    ("outputs", _ANY, "name"), ("outputs", _ANY, "dtype"), ("outputs", _ANY, "sha256"),
    # base64 of the output's bytes: data, and it may look like a path ("/+...")
    ("outputs", _ANY, "values"),
    # the per-layer diff's tensors and the executed graph are the model's and the runtime's
    ("executed_graph",),
    ("intermediates", "available"), ("intermediates", "runtime"), ("intermediates", "method"),
    ("intermediates", "executed_graph"), ("intermediates", "tensors"),
    ("intermediates", "skipped"),
)

_SERIAL_LINE = re.compile(r"(?im)^([ \t]*serial[ \t]*:).*$")
_SERIAL_KEY = re.compile(r"(?i)^serial(_?number)?$")
_FILE_URL = re.compile(r"\bfile://[^\s'\"<>]*")
_USER_AT_HOST = re.compile(r"(?<![\w.%+-])([A-Za-z0-9._%+-]+)@([A-Za-z0-9][A-Za-z0-9.-]*)")
_PATH_CHARS = r"""[^\s'"<>|;,:()\[\]{}*?]"""
_PATH = re.compile(
    # not inside a word, a relative path or a URL ("https://" is ':' then '//')
    rf"(?<![\w./\\~-])(?!//)(?:~[\w.-]*|[A-Za-z]:)?[/\\]{_PATH_CHARS}*"
    rf"""[^\s'"<>|;,:()\[\]{{}}*?.]""")
_HOME_USER = re.compile(r"(?:/home/|/Users/|[A-Za-z]:\\Users\\|[A-Za-z]:/Users/)"
                        r"([^/\\\s'\"<>:;,]+)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|"
                   r"[0-9A-Fa-f]{1,4})?(?:%[\w.]+)?(?![\w:.])")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\d.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\d|\.\d)")
_MAC = re.compile(r"(?<![\w:-])[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}"
                  r"(?![\w:-])")


def _kept(location: tuple[str, ...]) -> bool:
    for pattern in KEPT:
        if len(location) >= len(pattern) and all(
                p in (_ANY, part) for p, part in zip(pattern, location, strict=False)):
            return True
    return False


def _machine_names() -> tuple[set[str], set[str]]:
    """This machine's host and user names (either may be unknowable: then left out)."""
    import getpass
    import socket

    hosts, users = set(), set()
    try:
        hosts.add(socket.gethostname())
    except OSError:
        pass
    try:
        users.add(getpass.getuser())
    except (KeyError, OSError, ImportError):  # no user name in the environment or passwd
        pass
    return hosts, users


def _strings(value: Any, location: tuple[str, ...] = ()) -> Iterable[tuple[str, bool]]:
    """Every string in the document, with whether it is in a kept location."""
    if isinstance(value, str):
        yield value, _kept(location)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*location, str(key)))
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, (*location, _ANY))


def _with_short_forms(names: Iterable[str]) -> set[str]:
    found = set()
    for name in names:
        name = name.strip()
        if not name:
            continue
        found.add(name)
        short = name.split(".", 1)[0]  # pi5.local -> pi5
        if short:
            found.add(short)
    return {n for n in found if len(n) >= 2 and n.lower() not in GENERIC_NAMES}


def _word_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted(set(words), key=len, reverse=True)  # longest first: pi5.local before pi5
    if not ordered:
        return None
    alternatives = "|".join(re.escape(w) for w in ordered)
    return re.compile(rf"(?<![A-Za-z0-9_])(?:{alternatives})(?![A-Za-z0-9_])", re.IGNORECASE)


class _Scrubber:
    """The string rewriting, with the names to scrub collected from the document."""

    def __init__(self, document: dict[str, Any], words: Iterable[str]) -> None:
        hosts, users = _machine_names()
        device = document.get("device") if isinstance(document.get("device"), dict) else {}
        if isinstance(device, dict) and isinstance(device.get("hostname"), str):
            hosts.add(device["hostname"])
        if isinstance(device, dict) and isinstance(device.get("name"), str):
            hosts.add(device["name"])  # the alias often names the host or its owner (alice-pi5)
        for text, kept in _strings(document):
            if kept:
                continue
            users.update(_HOME_USER.findall(text))
            for user, host in _USER_AT_HOST.findall(text):
                users.add(user)
                if re.search(r"[A-Za-z]", host):  # not user@1.2: an address is scrubbed anyway
                    hosts.add(host)
        self.hosts = _word_pattern(_with_short_forms(hosts))
        self.users = _word_pattern(_with_short_forms(users) - _with_short_forms(hosts))
        self.extra = _word_pattern(_with_short_forms(words))

    def __call__(self, text: str) -> str:
        text = _SERIAL_LINE.sub(r"\1", text)
        text = _FILE_URL.sub(f"file://{PATH}", text)
        text = _USER_AT_HOST.sub(f"{USER}@{HOST}", text)
        text = _PATH.sub(PATH, text)
        text = _IPV6.sub(_ipv6_or_same, text)
        text = _IPV4.sub(IP, text)
        text = _MAC.sub(MAC, text)
        if self.hosts is not None:
            text = self.hosts.sub(HOST, text)
        if self.users is not None:
            text = self.users.sub(USER, text)
        if self.extra is not None:
            text = self.extra.sub("<redacted>", text)
        return text


def _ipv6_or_same(match: re.Match[str]) -> str:
    candidate = match.group(0)
    try:
        ipaddress.IPv6Address(candidate.split("%", 1)[0])
    except ValueError:  # a time (12:34:56) or anything else with colons
        return candidate
    return IP


def _walk(value: Any, location: tuple[str, ...], scrub: _Scrubber) -> Any:
    if isinstance(value, dict):
        copied: dict[str, Any] = {}
        for key, item in value.items():
            where = (*location, str(key))
            if isinstance(item, str) and _SERIAL_KEY.match(str(key)):
                copied[key] = ""
            elif location == ("device",) and key in ("hostname", "name") and isinstance(item, str):
                copied[key] = HOST
            else:
                copied[key] = _walk(item, where, scrub)
        return copied
    if isinstance(value, list):
        return [_walk(item, (*location, _ANY), scrub) for item in value]
    if isinstance(value, str):
        return _SERIAL_LINE.sub(r"\1", value) if _kept(location) else scrub(value)
    return value  # numbers, booleans and None carry nothing to hide


def redact(document: dict[str, Any], *, words: Iterable[str] = ()) -> dict[str, Any]:
    """A deep copy of a profile document with host and user names, paths and addresses replaced.

    ``words`` are further names to scrub wherever they occur as words (an
    SSH alias, a project name); they become ``"<redacted>"``. A single
    string is one name. The input is
    not changed. See the module docstring for what is replaced and what kept.
    """
    if isinstance(words, str):  # one name, not its letters
        words = [words]
    result: dict[str, Any] = _walk(document, (), _Scrubber(document, words))
    return result
