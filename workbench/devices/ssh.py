"""A board over SSH (paramiko): the same Device seam as the local machine.

The connection opens on first use, is reused across jobs and reopens after a
drop. Files go into a content-addressed cache on the board
(``~/.cache/workbench/artifacts/<sha256>/<name>``); the agent is one zip file
in that cache; remote commands are argument lists quoted with shlex.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import shlex
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, cast

from workbench import errors
from workbench._paths import DEFAULT_BOARD_DIR
from workbench.devices._stream import HEARTBEAT_S
from workbench.devices.base import Device, DeviceInfo, EventCallback, ProgressCallback
from workbench.devices.ssh_connect import (
    Endpoint,
    jump_hops,
    open_client,
    parse_hop,
    resolve,
    trust_host_key,
)
from workbench.devices.transfer import Room, Uploader, Verified

if TYPE_CHECKING:
    import paramiko

    from workbench.devices._warm import WarmAgent
    from workbench.devices.checked_files import CheckedFiles

T = TypeVar("T")
MIN_PYTHON = (3, 8)
#: seconds a warm agent waits for the next job before it stops
WARM_IDLE_S = 600.0
# Runs on the board with any Python 3: what the workbench needs to know first.
PYINFO = ("import json, os, platform, shutil, sys\n"
          "cache = os.path.expanduser(sys.argv[1])\n"
          "os.makedirs(cache, exist_ok=True)\n"
          # the folders runtimes are imported from: an install there changes their times
          "paths = sys.path[1:] + [os.path.join(cache, 'runtime'),"
          " os.path.join(sys.argv[2], 'runtime')]\n"
          "print(json.dumps({'version': list(sys.version_info[:3]), 'machine': platform.machine(),"
          " 'libc': list(platform.libc_ver()), 'home': os.path.expanduser('~'),"
          " 'cache': cache, 'free': shutil.disk_usage(cache).free,"
          " 'executable': sys.executable,"
          " 'stamps': [[p, os.stat(p).st_mtime_ns] for p in paths if os.path.isdir(p)]}))")


class _Settings(TypedDict):
    """The connection settings an SSHDevice was given, as ``resolve`` takes them."""

    host: str | None
    user: str | None
    port: int | None
    key_filename: str | list[str] | None
    password: str | None
    proxy_jump: str | None
    timeout: float | None
    known_hosts: tuple[str | Path, ...]
    user_known_hosts: str | Path | None
    ssh_config: str | Path | None
    allow_agent: bool
    look_for_keys: bool


def _artifact_sha(path: str) -> str:
    """The sha256 in an artifact's path on the board: ``.../artifacts/<sha256>/<name>``."""
    return path.rsplit("/", 2)[-2]


def _ask_secret(prompt: str) -> str | None:
    """Ask in a terminal; never stored anywhere but memory."""
    return getpass.getpass(prompt) if sys.stdin and sys.stdin.isatty() else None


class SSHDevice(Device):
    """A board reached over SSH; ``name`` is an alias from ~/.ssh/config or the registry."""

    kind = "ssh"

    def __init__(self, name: str, host: str | None = None, *, user: str | None = None,
                 port: int | None = None, key_filename: str | list[str] | None = None,
                 password: str | None = None, proxy_jump: str | None = None,
                 known_hosts: list[str | Path] | tuple[str | Path, ...] = (),
                 user_known_hosts: str | Path | None = None, ssh_config: str | Path | None = None,
                 python: str = "python3", remote_cache: str | None = None,
                 board_dir: str | None = None,
                 timeout: float | None = None, cache_limit_bytes: int | None = None,
                 allow_agent: bool = True, look_for_keys: bool = True,
                 emulated: bool = False, heartbeat_s: float = HEARTBEAT_S,
                 ask_secret: Any = _ask_secret, passphrase: str | None = None,
                 warm: bool = True, warm_idle_s: float = WARM_IDLE_S) -> None:
        super().__init__(name)
        if passphrase is not None:
            # The key's passphrase, given up front (a notebook cannot answer a prompt): kept in
            # this closure only, never in the settings that listings and the registry see.
            def ask_secret(prompt: str, _secret: str = passphrase) -> str | None:
                return _secret
        self._settings = _Settings(host=host, user=user, port=port, key_filename=key_filename,
                                   password=password, proxy_jump=proxy_jump, timeout=timeout,
                                   known_hosts=tuple(known_hosts),
                                   user_known_hosts=user_known_hosts, ssh_config=ssh_config,
                                   allow_agent=allow_agent, look_for_keys=look_for_keys)
        self.python = python
        self.remote_cache = remote_cache
        #: the board folder every account shares: the job lock and its queue
        self.board_dir = board_dir or DEFAULT_BOARD_DIR
        self.cache_limit_bytes = cache_limit_bytes
        self.emulated = emulated
        self.heartbeat_s = heartbeat_s
        #: run jobs on a warm agent (one per device object) rather than a new one each
        self.warm = warm
        #: seconds without a job after which the warm agent stops on the board
        self.warm_idle_s = warm_idle_s
        self._warm: WarmAgent | None = None
        self._warm_lock = threading.Lock()
        self._ask_secret = ask_secret
        self._client: paramiko.SSHClient | None = None
        self._endpoint: Endpoint | None = None
        #: the jump hosts' devices, by the ProxyJump hops that lead to them
        self._jumps: dict[str, SSHDevice] = {}
        self._board: dict[str, Any] | None = None
        self._board_lock = threading.Lock()
        self._agent_path: str | None = None
        self._sftp: paramiko.SFTPClient | None = None
        #: remote path -> (size, mtime) of files whose sha256 was checked over this connection
        self.verified: Verified = {}
        self._room = Room()  # the board's free space for uploads, as last measured
        self._touched: dict[str, float] = {}  # artifact folders touched for the LRU, and when
        self._checked: CheckedFiles | None = None  # files checked by earlier processes
        self._connect_lock = threading.RLock()
        # One upload batch at a time: two jobs on one device object (a widget's run and a
        # cell) share the SFTP session and the verified set. Reentrant: a batch may need the
        # agent uploaded first (its cache eviction runs the agent).
        self._transfer_lock = threading.RLock()

    # --- connection -------------------------------------------------------

    @property
    def endpoint(self) -> Endpoint:
        """Where and how to log in: ~/.ssh/config merged with the settings given.

        Read once and kept until :meth:`close`, so an edited config file counts
        from the next connection on.
        """
        endpoint = self._endpoint
        if endpoint is None:
            endpoint = self._endpoint = resolve(self.name, **self._settings)
        return endpoint

    def _jump(self, proxy_jump: str) -> paramiko.SSHClient:
        """The connection to the last hop of ``proxy_jump``, reached through the hops before."""
        # A jump host is an SSH device of its own, with the same config and known_hosts: its
        # host key is checked like the board's.
        if proxy_jump not in self._jumps:
            *before, last = jump_hops(proxy_jump)
            user, host, port = parse_hop(last)
            settings = self._settings
            self._jumps[proxy_jump] = SSHDevice(host, user=user, port=port,
                                                proxy_jump=",".join(before) or None,
                                                key_filename=settings["key_filename"],
                                                known_hosts=settings["known_hosts"],
                                                user_known_hosts=settings["user_known_hosts"],
                                                ssh_config=settings["ssh_config"],
                                                allow_agent=settings["allow_agent"],
                                                look_for_keys=settings["look_for_keys"],
                                                timeout=settings["timeout"],
                                                ask_secret=self._ask_secret)
        return self._jumps[proxy_jump].client()

    def client(self) -> paramiko.SSHClient:
        """The open connection: opened on first use, reopened when it dropped."""
        with self._connect_lock:
            transport = self._client.get_transport() if self._client else None
            if transport is None or not transport.is_active():
                if self._client is not None:
                    self.close()  # what is left of the dropped connection
                # A new connection may reach a board that rebooted, or whose cache was
                # cleaned meanwhile: no file checked over the old one is trusted.
                self._forget_artifacts()
                self._client = open_client(self.endpoint, jump=self._jump,
                                           ask_secret=self._ask_secret)
            # set above, or the one whose live transport was just checked
            return cast("paramiko.SSHClient", self._client)

    def trust_host_key(self, fingerprint: str) -> Path:
        """Trust the board's host key if it has this SHA256 fingerprint; returns known_hosts."""
        endpoint = self.endpoint
        jump = self._jump if endpoint.proxy_jump else None
        return trust_host_key(endpoint, fingerprint, jump)

    def open(self) -> None:
        """Connect now (a job's connect stage); later calls reuse the connection."""
        self.client()

    def close(self) -> None:
        """Close the SFTP session, the connection and the jump hosts' connections.

        Calling it again does nothing; the next use connects again, reading
        ~/.ssh/config anew.
        """
        with self._connect_lock:
            sftp, client, warm = self._sftp, self._client, self._warm
            self._sftp = self._client = self._endpoint = self._board = self._warm = None
            if warm is not None:
                warm.close()
            # the board's side first: its connection runs through the jump hosts'
            for closing in (sftp, client, *self._jumps.values()):
                if closing is not None:
                    with contextlib.suppress(Exception):  # a dead link: nothing left to close
                        closing.close()

    def _link_dropped(self, doing: str, exc: BaseException) -> errors.LinkDropped:
        self.close()
        return errors.LinkDropped(f"The connection dropped while {doing}: "
                                  f"{type(exc).__name__} {exc}".rstrip(),
                                  where=self.endpoint.where())

    def _reopening_once(self, doing: str, open_: Callable[[], T]) -> T:
        """``open_()``, with a connection found dead reopened once (nothing was sent yet)."""
        for attempt in range(2):
            try:
                return open_()
            except errors.WorkbenchError:
                raise
            except Exception as exc:  # paramiko.SSHException, EOFError, OSError
                self.close()
                if attempt:
                    raise self._link_dropped(doing, exc) from None
        raise AssertionError("unreachable")

    def open_session(self) -> paramiko.Channel:
        """A new channel; a connection found dead here is reopened once (nothing was sent yet)."""
        def channel() -> paramiko.Channel:
            transport = self.client().get_transport()
            assert transport is not None
            return transport.open_session(timeout=self.endpoint.timeout)

        return self._reopening_once("opening a channel", channel)

    def open_sftp(self) -> paramiko.SFTPClient:
        """An SFTP session, reopening a dead connection once; a board without SFTP is named."""
        from workbench.devices.board_cache import open_sftp

        return self._reopening_once("opening SFTP", lambda: open_sftp(self.client(), self.name))

    def sftp(self) -> paramiko.SFTPClient:
        """The device's SFTP session (one per connection)."""
        with self._connect_lock:
            channel = self._sftp.get_channel() if self._sftp else None
            # client() returns a connected client: its transport is set
            if channel is None or channel.closed or not cast(
                    "paramiko.Transport", self.client().get_transport()).is_active():
                self._sftp = self.open_sftp()
            # set above, or the one whose open channel was just checked
            return cast("paramiko.SFTPClient", self._sftp)

    def exec(self, argv: list[str], *, timeout: float = 120.0,
             stdin: bytes | None = None) -> tuple[int, str, str]:
        """Run a command (an argument list, quoted) and return exit code, stdout, stderr."""
        from workbench.devices._cancel import interrupting
        from workbench.devices._channel import run_command

        command = shlex.join(argv)
        channel = self.open_session()
        try:
            with interrupting(channel.close, where=self.name, doing=f"running {argv[0]}"):
                code, out, err = run_command(channel, command, timeout, stdin)
        except errors.WorkbenchError:
            raise
        except Exception as exc:  # OSError, EOFError, paramiko.SSHException
            raise self._link_dropped(f"running {argv[0]}", exc) from None
        return code, out, err

    # --- the board's basics ------------------------------------------------

    def board(self) -> dict[str, Any]:
        """Python version, machine, libc and home on the board (checked once per connection)."""
        self.client()
        with self._board_lock:  # the probe and an upload may ask at once: one asks the board
            return self._board_basics()

    def _board_basics(self) -> dict[str, Any]:
        if self._board is None:
            cache = self.remote_cache or "~/.cache/workbench"
            code, out, err = self.exec([self.python, "-c", PYINFO, cache, self.board_dir],
                                       timeout=60)
            where = f"{self.name}: {self.python}"
            if code == 127 or (code != 0 and "not found" in err):
                raise errors.BoardPythonMissing(f"No Python at {self.python!r} on the board",
                                                where=where)
            if code != 0:
                raise errors.BoardPythonMissing(f"{self.python} failed on the board: "
                                                f"{err.strip()[-300:]}", where=where)
            info = json.loads(out)
            if tuple(info["version"]) < MIN_PYTHON:
                version = ".".join(map(str, info["version"]))
                raise errors.BoardPythonMissing(
                    f"Python {version} on the board is too old; the agent needs 3.8 or newer",
                    where=where)
            self._board = info
        return self._board

    @property
    def cache(self) -> str:
        return str(self.board()["cache"])

    def _python_argv(self, *args: str, backend: str | None = None) -> list[str]:
        from workbench.devices.setup import runtime_path

        path = runtime_path(self.cache, backend, self.board_dir)
        return ["env", f"PYTHONPATH={path}", self.python, *args]

    def agent_path(self) -> str:
        """The agent zip on the board (uploaded once, by hash)."""
        from workbench.devices.agent_bundle import agent_zip

        if self._agent_path is None:
            with self._transferring():
                if self._agent_path is None:  # the probe and an upload may ask at once
                    self._agent_path = self._uploader().ensure_many([agent_zip()], None)[0]
        return self._agent_path

    @property
    def agent_sha(self) -> str | None:
        """The sha256 of the agent zip on the board, once it is there."""
        return _artifact_sha(self._agent_path) if self._agent_path else None

    def tool(self, *args: str, timeout: float = 300.0) -> dict[str, Any]:
        """Run one of the agent's file tools on the board; its JSON answer."""
        code, out, err = self.exec(self._python_argv(self.agent_path(), "tool", *args),
                                   timeout=timeout)
        try:
            answer: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise errors.AgentError(f"The agent's {args[0]} tool failed", where=self.name,
                                    hint="Its stderr tail shows why; check the board's Python "
                                    f"with `workbench device probe {self.name}`",
                                    exit_code=code, stderr_tail=err[-2000:]) from None
        if code != 0 and answer.get("errno") == 28:  # ENOSPC
            raise errors.DiskFull(f"The board's disk is full ({args[0]}: {answer.get('error')})",
                                  where=f"{self.name}:{self.cache}",
                                  hint="Free space on the board, or run `workbench device clean "
                                  f"{self.name}`, then run again")
        if code != 0:
            raise errors.DeviceError(f"The agent's {args[0]} tool failed: {answer.get('error')}",
                                     where=self.name,
                                     hint="Fix what it names on the board (free space, "
                                     "permissions of its cache folder) and run again")
        return answer

    # --- the Device seam ----------------------------------------------------

    def probe(self, refresh: bool = False) -> DeviceInfo:
        """The board's info, kept on the host across processes per board, host key, agent,
        Python and runtime folders (:mod:`workbench.devices.probe_cache`): probed again when
        any of them changed, or with ``refresh``."""
        from workbench.devices import probe_cache
        from workbench.devices.ssh_connect import fingerprint

        if self._info is not None and not refresh:
            return self._info
        board = self.board()
        transport = self.client().get_transport()
        assert transport is not None  # client() returns a connected client
        key = probe_cache.probe_key(
            name=self.name, kind=self.kind, emulated=self.emulated, where=self.endpoint.where(),
            host_key=fingerprint(transport.get_remote_server_key()),
            agent=_artifact_sha(self.agent_path()), cache=board["cache"],
            python=board["executable"], version=board["version"], stamps=board.get("stamps"))
        info = None if refresh else probe_cache.load(key)
        if info is None:
            info = self._probe()
            probe_cache.save(key, info)
        self._info = info
        return info

    def _probe(self) -> DeviceInfo:
        answer = self._probe_warm() if self.warm else None
        if answer is None:
            code, out, err = self.exec(self._python_argv(self.agent_path(), "probe", self.cache))
            if code != 0:
                raise errors.AgentError("The agent's probe failed on the board", where=self.name,
                                        hint=f"Its stderr tail shows why; check that {self.python} "
                                        "on the board is Python 3.8 or newer",
                                        exit_code=code, stderr_tail=err[-4000:])
            answer = json.loads(out)
        return DeviceInfo.from_probe(self.name, self.kind, answer, emulated=self.emulated)

    def _probe_warm(self) -> dict[str, Any] | None:
        """The probe made by a fresh warm agent, which stays for the jobs that follow: the
        board starts one Python and imports the runtimes once, not once for the probe and
        again for the first job. None when the warm agent is busy with a job of this host
        or did not start (the probe command then asks, and reports any failure in full)."""
        with self._warm_lock:
            warm = self._warm
            if warm is not None:
                if not warm.try_take():
                    return None  # it runs a job: leave it be
                warm.close()  # taken for good: no job starts on it any more
                self._warm = None
            from workbench.devices._warm import WARM_PRELOAD

            warm = self._start_warm("", list(WARM_PRELOAD), probe=True)
            answer = warm.ready.get("probe") if warm is not None else None
            if isinstance(answer, dict):
                self._warm = warm
                return answer
            if warm is not None:
                warm.close()
            return None

    def ensure(self, artifact: Path, progress: ProgressCallback | None = None) -> str:
        """Upload by content (sha256) unless the board already has it whole; its path there."""
        return self.ensure_many([Path(artifact)], progress)[0]

    def ensure_many(self, files: list[Path],
                    progress: ProgressCallback | None = None) -> list[str]:
        """Ensure several files with one hash check on the board; the agent goes first (the
        probe, which runs beside a job's upload, needs it)."""
        self.agent_path()
        with self._transferring():
            paths = self._uploader().ensure_many([Path(f) for f in files], progress)
            self._evict(paths)
        return paths

    def _uploader(self) -> Uploader:
        return Uploader(self, self.verified, link=self.endpoint.where(), room=self._room,
                        checked=self._checked_files(), touched=self._touched)

    def _checked_files(self) -> CheckedFiles:
        """The files of this board's cache whose hash a process of this host checked, kept per
        board, address, host key and cache folder (:mod:`workbench.devices.checked_files`)."""
        from workbench.devices.checked_files import CheckedFiles
        from workbench.devices.probe_cache import probe_key
        from workbench.devices.ssh_connect import fingerprint

        if self._checked is None:
            transport = self.client().get_transport()
            assert transport is not None  # client() returns a connected client
            self._checked = CheckedFiles(probe_key(
                name=self.name, kind=self.kind, where=self.endpoint.where(), cache=self.cache,
                host_key=fingerprint(transport.get_remote_server_key())))
        return self._checked

    def _evict(self, keep: list[str]) -> None:
        """Keep the board's cache under its size limit: the least recently used artifacts
        go, never ``keep`` nor the agent."""
        if self.cache_limit_bytes:
            agent = _artifact_sha(self.agent_path())
            self.tool("evict", self.cache, str(self.cache_limit_bytes),
                      *map(_artifact_sha, keep), agent)

    @contextlib.contextmanager
    def _transferring(self) -> Iterator[None]:
        """Hold the device's transfer lock; a cancelled job stops waiting for it."""
        from workbench.devices._cancel import raise_if_cancelled

        while not self._transfer_lock.acquire(timeout=0.1):
            raise_if_cancelled(self.name, "waiting for another upload to this device")
        try:
            yield
        finally:
            self._transfer_lock.release()

    def ensure_together(self, files: list[Path],
                        progress: ProgressCallback | None = None) -> list[str]:
        """Ensure files that must sit in one folder (a model and its external data)."""
        paths = self.ensure_many(files, progress)
        folder = paths[0].rsplit("/", 1)[0]
        for path, local in zip(paths[1:], files[1:], strict=True):
            target = f"{folder}/{local.name}"
            if target != path:
                self.tool("link", path, target)
        return [paths[0], *(f"{folder}/{f.name}" for f in files[1:])]

    def workdir(self) -> str:
        return f"{self.cache}/jobs/{uuid.uuid4().hex[:12]}"

    def remove_workdir(self, workdir: str) -> None:
        if not workdir.startswith(f"{self.cache}/jobs/"):
            return
        warm = self._warm
        if warm is not None and warm.alive and warm.forget(workdir):
            return  # the warm agent removes it between jobs: no round trip on this job's path
        try:  # a job folder holds a few flat files: SFTP is quicker than a command
            sftp = self.sftp()
            for name in sftp.listdir(workdir):
                sftp.remove(f"{workdir}/{name}")
            sftp.rmdir(workdir)
        except (OSError, errors.WorkbenchError):
            pass  # gone already, or the link is down: `workbench device clean` removes it

    def lock_path(self) -> str:
        """The board's job lock, the same for every account: ``<board_dir>/board.lock``."""
        return f"{self.board_dir.rstrip('/')}/board.lock"

    def status(self) -> dict[str, Any]:
        """Who holds the board's lock, who waits, and this login's job folders on the board."""
        return self.tool("status", self.lock_path(), f"{self.cache}/jobs")

    def collect(self, workdir: str) -> dict[str, Any]:
        return self.tool("collect", workdir)

    def clean_cache(self, wait_s: float = 60.0) -> dict[str, Any]:
        """Remove what earlier runs left on the board: artifacts no job uses, finished job
        folders, unfinished runtime unpacks (installed runtimes stay).

        Cleaning holds the board's lock, so it waits for a running job (up to
        ``wait_s`` seconds, else DeviceBusy naming the holder) and never removes
        what a running or queued job, or an upload under way, uses.
        """
        from workbench.devices.board_cache import clean

        try:
            return clean(self, wait_s)
        finally:
            self._forget_artifacts()  # what was checked may be gone: check it again

    def _forget_artifacts(self) -> None:
        """Trust no artifact on the board until it is checked again."""
        # No transfer lock here: client() calls this holding the connect lock, which an
        # upload takes while it holds the transfer lock.
        self.verified.clear()
        self._room.forget()
        self._agent_path = None

    def run(self, job: dict[str, Any], on_event: EventCallback | None = None, *,
            timeout: float | None = None, cancel: threading.Event | None = None) -> dict[str, Any]:
        try:
            return self._run(job, on_event, timeout=timeout, cancel=cancel)
        except errors.JobCancelled:
            raise
        except errors.WorkbenchError:
            # a file trusted over this connection may be what is missing or damaged (the job
            # fails as the runtime finds it): check all again
            self.verified.clear()
            raise

    def _run(self, job: dict[str, Any], on_event: EventCallback | None, *,
             timeout: float | None, cancel: threading.Event | None) -> dict[str, Any]:
        from workbench.devices._cancel import current
        from workbench.devices._run import run_channel
        from workbench.devices._warm import NotStarted

        cancel = cancel or current()
        if self.warm:
            # A warm agent that stopped before the job started (idle, a new runtime) is
            # replaced once; one that is busy with another job of this host is left alone.
            for _attempt in range(2):
                warm = self._warm_agent(_backend_name(job))
                if warm is None or not warm.try_take():
                    break
                try:
                    return warm.run(self, job, on_event, timeout=timeout, cancel=cancel)
                except NotStarted:
                    warm.close()
                finally:
                    warm.release()
        argv = self._python_argv(self.agent_path(), "run", "-", "--watch-stdin", "--heartbeat",
                                 str(self.heartbeat_s), backend=_backend_name(job))
        channel = self.open_session()
        try:
            channel.exec_command(shlex.join(argv))
            channel.sendall((json.dumps(job) + "\n").encode())
        except Exception as exc:  # paramiko.SSHException, EOFError, OSError
            raise self._link_dropped("starting the agent", exc) from None
        return run_channel(self, channel, where=f"{self.name}: job {job.get('id', '?')}",
                           on_event=on_event, heartbeat_s=self.heartbeat_s, timeout=timeout,
                           cancel=cancel)

    def start_agent(self, backend: str) -> None:
        """Start the warm agent for ``backend``'s jobs now, unless one runs (see
        :meth:`Device.start_agent`)."""
        if self.warm:
            self._warm_agent(backend)

    def _warm_agent(self, backend: str) -> WarmAgent | None:
        """The device's warm agent, started for ``backend``'s jobs when there is none (or it
        stopped, or cannot run them); None when the board cannot run one."""
        from workbench.devices._warm import WARM_IMPORTS, WARM_PRELOAD
        from workbench.devices.setup import runtime_path

        with self._warm_lock:
            agent_path = self.agent_path()
            path = runtime_path(self.cache, backend or None, self.board_dir).split(":")
            warm = self._warm
            if (warm is not None and warm.alive and warm.agent_path == agent_path
                    and warm.serves(backend, path)):
                return warm
            if warm is not None:
                if warm.alive and not warm.try_take():
                    return None  # it runs another job of this host: leave it be (a cold agent)
                warm.close()
            self._warm = self._start_warm(backend,
                                          [*WARM_PRELOAD, *WARM_IMPORTS.get(backend, ())])
            return self._warm

    def _start_warm(self, backend: str, preload: list[str], *,
                    probe: bool = False) -> WarmAgent | None:
        """A new warm agent for ``backend``'s jobs (its runtime bundle alone on the path;
        every backend's for "") that imports ``preload`` as it starts; with
        ``probe``, it probes the board first and says so when ready. None when it did not
        start."""
        from workbench.devices._cancel import interrupting
        from workbench.devices._warm import NotStarted, start_warm

        agent_path = self.agent_path()
        argv = self._python_argv(agent_path, "serve", "--heartbeat", str(self.heartbeat_s),
                                 "--idle", str(self.warm_idle_s), "--preload", ",".join(preload),
                                 *(["--probe", self.cache] if probe else []),
                                 backend=backend or None)
        channel = self.open_session()
        try:
            # a cancelled job stops waiting for the agent's imports (and its probe)
            with interrupting(channel.close, where=self.name, doing="starting the agent"):
                return start_warm(channel, argv, agent_path=agent_path,
                                  heartbeat_s=self.heartbeat_s, where=self.name, backend=backend,
                                  preloading=bool(preload))
        except NotStarted:
            return None

    def setup(self, backend: str = "onnxruntime", *, bundle: list[str | Path] | None = None,
              progress: ProgressCallback | None = None, shared: bool = False,
              apt: bool = False) -> dict[str, Any]:
        """Install what ``backend`` needs on the board (see :meth:`Device.setup`)."""
        from workbench.devices.setup import setup_device

        return setup_device(self, backend, bundle=bundle, progress=progress, shared=shared,
                            apt=apt)


def _backend_name(job: dict[str, Any]) -> str:
    """The job's backend: its runtime bundle alone goes on the agent's path."""
    return str((job.get("backend") or {}).get("name") or "")
