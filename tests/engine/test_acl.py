"""ACL against real Redis 7.0.15: the same commands on both servers, every reply compared
byte for byte (ACL LOG's age-seconds and client-info ids masked): SETUSER/GETUSER/LIST,
-NOPERM for commands, keys (read/write patterns, selectors) and channels, AUTH and
HELLO AUTH, MULTI/EXEC and scripts under a restricted user, ACL LOG, DELUSER
disconnecting the user's clients, the ACL file and ``user`` config lines."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from aof.replies import encode_command
from aof.resp import NEED_DATA, ReplyParser
from tests.engine.conftest import ServerProc, start_ours, start_real
from tests.engine.test_command_docs import NOT_IN_7_0

_MASKS = [(re.compile(rb"id=\d+ addr=\S+ laddr=\S+ fd=\d+"), b"ID"),
          (re.compile(rb"age=\d+ idle=\d+"), b"AGE"),
          (re.compile(rb"qbuf=.*?events"), b"Q"),
          (re.compile(rb"\$\d+\r\nID"), b"ID"),
          (re.compile(rb"\$2\r\nid\r\n:\d+"), b"ID"),
          (re.compile(rb"age-seconds\r\n\$\d+\r\n[0-9.e-]+\r\n"), b"age-seconds\r\nN\r\n")]


class Conn:
    """A raw connection: one command out, one whole reply's bytes back."""

    def __init__(self, port: int) -> None:
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)

    def __call__(self, *argv: str | bytes) -> bytes:
        self.s.sendall(encode_command([a if isinstance(a, bytes) else a.encode() for a in argv]))
        raw = b""
        while True:
            try:
                data = self.s.recv(65536)
            except ConnectionResetError:  # closed with our PING unread: the kernel sends RST
                data = b""
            if not data:
                return raw + b"<closed>"
            raw += data
            p = ReplyParser()
            p.feed(raw)
            if p.gets() is not NEED_DATA:
                for rx, repl in _MASKS:
                    raw = rx.sub(repl, raw)
                return raw

    def close(self) -> None:
        self.s.close()


def _elements(raw: bytes) -> list[bytes]:
    p = ReplyParser()
    p.feed(raw)
    return p.gets()


class Pair:
    """Numbered connections to both servers; ``run(n, *argv)`` asserts equal replies."""

    def __init__(self, ours: ServerProc, real: ServerProc) -> None:
        self.ports = (ours.port, real.port)
        self.conns: dict[int, tuple[Conn, Conn]] = {}

    def run(self, n: int, *argv: str) -> bytes:
        if n not in self.conns:
            self.conns[n] = (Conn(self.ports[0]), Conn(self.ports[1]))
        a, b = (c(*argv) for c in self.conns[n])
        assert a == b, (argv, a, b)
        return a

    def script(self, text: str) -> None:
        """Lines of ``[n:] command args`` (shell-like quoting)."""
        import shlex

        for line in text.strip().splitlines():
            argv = shlex.split(line)
            n = 1
            if argv[0].endswith(":") and argv[0][:-1].isdigit():
                n, argv = int(argv[0][:-1]), argv[1:]
            self.run(n, *argv)

    def close(self) -> None:
        for a, b in self.conns.values():
            a.close()
            b.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProc, ServerProc]]:
    o = start_ours(tmp_path_factory.mktemp("acl-ours"))
    r = start_real(tmp_path_factory.mktemp("acl-real"))
    yield o, r
    o.stop()
    r.stop()


@pytest.fixture
def p(servers: tuple[ServerProc, ServerProc]) -> Iterator[Pair]:
    pair = Pair(*servers)
    yield pair
    pair.run(1, "AUTH", "default", "x")  # the default user is nopass: any password
    for user in (b"u1", b"u2", b"u3", b"sel", b"rw", b"bob"):
        pair.run(1, "ACL", "DELUSER", user.decode())
    pair.run(1, "ACL", "LOG", "RESET")
    pair.run(1, "FLUSHALL")
    pair.close()


def test_setuser_getuser_list_round_trips(p: Pair) -> None:
    p.script("""
ACL LIST
ACL GETUSER default
ACL SETUSER u1 on >p1 >p2 <p2 #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 ~cached:* +get
ACL GETUSER u1
ACL SETUSER u2 -@all +@hash +get resetchannels &news:* %R~r* %W~w* %RW~rw* ~x
ACL GETUSER u2
ACL SETUSER u3 +@all -@dangerous -get ~* &* nopass skip-sanitize-payload
ACL GETUSER u3
ACL SETUSER sel on (+get ~k1) "(+set" "~k2)" (%R~z +@read) clearselectors (~a +ping)
ACL GETUSER sel
ACL SETUSER rw %R~foo %W~foo %RW~bar +select|0
ACL GETUSER rw
ACL LIST
ACL USERS
ACL SETUSER u3 reset
ACL GETUSER u3
ACL GETUSER nosuch
ACL CAT
ACL CAT nosuch
ACL GENPASS 0
ACL GENPASS 5000
ACL DELUSER default
ACL DELUSER u3 nosuch
ACL USERS
ACL HELP
ACL LOAD
ACL SAVE
""")
    for bits in ("256", "1", "5"):  # only the length is defined
        a, b = (len(c("ACL", "GENPASS", bits)) for c in (Conn(p.ports[0]), Conn(p.ports[1])))
        assert a == b
    # ACL CAT and several single commands in a description come in Redis's dict order
    p.run(1, "ACL", "SETUSER", "u2", "+@hash", "-@write", "+config|get")
    for cat in ("geo", "hash", "stream", "scripting"):  # the commands 7.0 has (ours serves 7.4's field TTLs too)
        a, b = (_elements(c("ACL", "CAT", cat)) for c in (Conn(p.ports[0]), Conn(p.ports[1])))
        assert sorted(set(a) - NOT_IN_7_0) == sorted(b), cat
    a, b = (sorted(re.split(rb"\r\n| ", c("ACL", "GETUSER", "u2"))) for c in (Conn(p.ports[0]), Conn(p.ports[1])))
    a = [t for t in a if t[1:] not in NOT_IN_7_0]  # "-hexpire" ...: 7.4's @hash @write commands
    assert [t for t in a if not t.startswith(b"$")] == [t for t in b if not t.startswith(b"$")]


@pytest.mark.parametrize("rule", [
    "+nosuch", "+@nosuch", "#abc", "<nope", "+select|", "+config|get|x", "-select|0", "(+get",
    "%X~a", "bad-op", "() ", ")", "(this-is-invalid)", "(&* &fail)",
])
def test_setuser_errors(p: Pair, rule: str) -> None:
    p.run(1, "ACL", "SETUSER", "u1", "on", rule)
    p.run(1, "ACL", "GETUSER", "u1")


def test_setuser_errors_after_all_patterns(p: Pair) -> None:
    p.script("""
ACL SETUSER u1 ~* ~x
ACL SETUSER u1 &* &x
ACL SETUSER "a b" on
ACL GETUSER u1
""")


def test_noperm_commands_keys_channels_and_log(p: Pair) -> None:
    p.script("""
ACL SETUSER u1 on >pw ~k* &ch* -@all +get +set +publish +subscribe +psubscribe +multi +exec +ping +acl|whoami +client|info
2: AUTH u1 wrong
2: AUTH nosuch pw
2: AUTH u1 pw
2: ACL WHOAMI
2: CLIENT INFO
2: GET k1
2: GET x1
2: SET k1 v
2: DEL k1
2: CONFIG GET maxmemory
2: PUBLISH ch1 m
2: PUBLISH other m
2: PSUBSCRIBE x*
ACL LOG
ACL LOG 1
ACL LOG RESET
ACL LOG
""")


def test_read_write_patterns_and_selectors(p: Pair) -> None:
    p.script("""
ACL SETUSER rw on nopass %R~read* %W~write* +@all (%RW~both* +get +set) (~sel* +@read)
SET readstr x
2: AUTH rw x
2: GET readstr
2: SET readstr v
2: LPUSH writelist 1
2: GET writestr
2: COPY readstr writestr
2: COPY writestr readstr
2: SET writestr v
2: SET writestr v GET
2: BITFIELD readstr GET u4 0
2: BITFIELD readstr SET u4 0 1
2: SET both1 v GET
2: GET sel1
2: MGET sel1 both1
2: SORT readstr BY nosort
ACL DRYRUN rw GET read1
ACL DRYRUN rw SET read1 x
ACL DRYRUN rw LPUSH write1 x
ACL DRYRUN rw SORT read1 STORE write1
ACL DRYRUN rw SORT write1 STORE read1
ACL DRYRUN rw EVAL "" 1 read1
ACL DRYRUN rw EVAL_RO "" 1 read1
ACL DRYRUN rw GEORADIUS read1 0 0 1 M STORE write1
ACL DRYRUN rw HEXISTS write1 f
ACL DRYRUN rw SINTERCARD 2 write1 read1
ACL DRYRUN rw GET
ACL DRYRUN nosuch GET x
ACL DRYRUN rw nosuch x
ACL LOG
""")


def test_sort_by_get_need_full_read_access(p: Pair) -> None:
    p.script("""
RPUSH mylist 1
SET v1 1
ACL SETUSER u1 on nopass (+sort ~mylist)
2: AUTH u1 x
2: SORT mylist BY v*
2: SORT mylist GET v*
ACL SETUSER u1 (+sort ~mylist %R~*)
2: SORT mylist BY v*
""")


def test_multi_exec_and_scripts_as_the_user(p: Pair) -> None:
    p.script("""
ACL SETUSER u1 on >pw ~k* -@all +get +set +multi +exec +eval +evalsha
SET x1 secret
2: AUTH u1 pw
2: MULTI
2: GET k1
2: DEL k1
2: EXEC
2: MULTI
2: GET k1
2: SET k2 v
ACL SETUSER u1 -set
2: EXEC
2: EVAL "return redis.call('get','k1')" 0
2: EVAL "return redis.call('get','x1')" 0
2: EVAL "return redis.call('del','k1')" 0
2: EVAL "return redis.pcall('get','x1')" 0
2: EVAL "return redis.acl_check_cmd('get','x1')" 0
2: EVAL "return redis.acl_check_cmd('get','k1')" 0
ACL LOG
""")


def test_hello_auth_reset_and_requirepass(p: Pair) -> None:
    p.script("""
ACL SETUSER u2 on >pw +@all ~*
2: HELLO 2 AUTH u2 bad
2: HELLO 2 AUTH u2 pw
2: ACL WHOAMI
2: RESET
2: ACL WHOAMI
CONFIG SET requirepass foo
3: PING
3: AUTH bar
3: AUTH foo
3: ACL WHOAMI
ACL GETUSER default
CONFIG SET requirepass ""
ACL GETUSER default
3: AUTH x
ACL LOG
""")


def test_deluser_and_channel_change_disconnect_clients(p: Pair) -> None:
    p.script("""
ACL SETUSER u1 on nopass +@all ~* resetchannels &ch1 &ch2
2: AUTH u1 x
3: AUTH u1 x
3: SUBSCRIBE ch1
ACL SETUSER u1 resetchannels &ch2
3: PING
ACL DELUSER u1
2: PING
CLIENT KILL USER nosuch
""")


def _conf(tmp: Path, text: str) -> Path:
    path = tmp / "redis.conf"
    path.write_text(text)
    return path


def test_aclfile_save_load_and_user_lines(tmp_path: Path) -> None:
    """The same ACL file loaded, changed, saved and reloaded on both servers; users from
    ``user`` lines of a config file, written back by CONFIG REWRITE."""
    outs = []
    for start in (start_ours, start_real):
        d = tmp_path / start.__name__
        d.mkdir()
        (d / "users.acl").write_text("user alice on #" + "a" * 64 + " ~a* +get\n"
                                     "user default on nopass ~* &* +@all\n")
        srv = start(d, "--aclfile", str(d / "users.acl"))
        c = Conn(srv.port)
        out = [c("ACL", "LIST"), c("ACL", "SETUSER", "bob", "on", ">x", "(~b* +set)"),
               c("ACL", "SAVE"), c("ACL", "SETUSER", "carl"), c("ACL", "LOAD"), c("ACL", "LIST")]
        (d / "users.acl").write_text("user x on nopass +nosuch\nbogus line\n")
        out += [c("ACL", "LOAD"), c("ACL", "LIST")]
        out.append((d / "users.acl").read_bytes())
        c.close()
        srv.stop()
        conf = _conf(d, "user default on nopass ~* &* +@all\nuser bob on >pw %R~r* +@read\n")
        srv = start(d, config=conf)
        c = Conn(srv.port)
        out += [c("ACL", "LIST"), c("ACL", "SETUSER", "carl", "on", "+get"), c("CONFIG", "REWRITE")]
        out.append(b"".join(ln + b"\n" for ln in conf.read_bytes().splitlines() if ln.startswith(b"user ")))
        c.close()
        srv.stop()
        outs.append([x.replace(str(d).encode(), b"DIR") for x in out])
    assert outs[0] == outs[1]
