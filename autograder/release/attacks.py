"""Submissions that try to cheat or break the grader, and the score each must get.

Each attack appends code cells to a base notebook: the solution (to show that whatever
the attack breaks costs only the functions it touches), the stubs, or a notebook whose
functions all return 0.0 (to show that an attack turns no wrong answer into a right one).
The build grades them all through the real grading path and refuses to ship if any score
is off; ``tests/test_grading.py`` runs them too.
"""

from dataclasses import dataclass

from ..cases import FUNCTIONS

# Every graded function returns 0.0.
WRONG_ANSWERS = "def _zero(*args, **kwargs):\n    return 0.0\n\n\n" + "".join(
    f"{name} = _zero\n" for name in FUNCTIONS
)


@dataclass(frozen=True)
class Attack:
    """One attack.

    Attributes
    ----------
    name : str
        What it tries.
    base : str
        ``solution``, ``stubs`` or ``wrong`` (every function returns 0.0).
    cells : tuple of str
        Code cells appended to the base notebook. ``{repo}`` stands for this repository's
        folder and ``{source}`` for the autograder's folder on Gradescope.
    broken : tuple of str
        Functions the attack is expected to cost (solution base only); everything else
        keeps its full marks.
    broken_requirements : tuple of (str, str)
        ``(function, requirement)`` pairs the attack is expected to cost, and only those
        requirements' points (solution base only).
    """

    name: str
    base: str
    cells: tuple[str, ...]
    broken: tuple[str, ...] = ()
    broken_requirements: tuple[tuple[str, str], ...] = ()


# Finds the worker's stand-ins in the frames above the call and asks the grader, through
# them, for the reference's value of a function it may not ask for (`{asked}`, while `{name}`
# is judged); the grader must refuse, and charge the call.
_FORGED_STANDIN = (
    "import sys\n"
    "def {name}({args}):\n"
    "    frame = sys._getframe()\n"
    "    while 'stand_ins' not in frame.f_locals:\n"
    "        frame = frame.f_back\n"
    "    s = frame.f_locals['stand_ins']\n"
    "    wire = [s.protocol.standin_arg(a, s.np) for a in ({args},)]\n"
    "    s.protocol.send(s.out, dict(event='standin', function='{asked}', args=wire))\n"
    "    return s.protocol.read_answer(s.answers, s.np)[0]"
)


# Finds the worker's event pipe and the running cell's number in the frames above the cell,
# then sends megabyte-long error events (and, for forged cells ahead, a "cell" event first).
_FLOOD = (
    "import os, sys\n"
    "frame = sys._getframe()\n"
    "while frame is not None and 'out' not in frame.f_locals:\n"
    "    frame = frame.f_back\n"
    "out, index = frame.f_locals['out'], frame.f_locals['index']\n"
    "def send(data):\n"
    "    while data:\n"
    "        data = data[os.write(out, data):]\n"
    "for number, announce in {events}:\n"
    "    if announce:\n"
    '        send(b\'{{{{"event": "cell", "index": %d}}}}\\n\' % number)\n'
    '    line = b\'{{{{"event": "cell_error", "index": %d, "type": "E", "message": "m", "where": []\' % number\n'
    "    send(line + b' ' * (1_000_000 - len(line)) + b'}}}}\\n')"
)


ATTACKS: tuple[Attack, ...] = (
    Attack(
        "numpy's comparisons patched to always agree",
        "wrong",
        (
            "import numpy\n"
            "numpy.allclose = lambda *a, **k: True\n"
            "numpy.isclose = lambda *a, **k: True\n"
            "numpy.array_equal = lambda *a, **k: True\n"
            "numpy.testing.assert_allclose = lambda *a, **k: None",
        ),
    ),
    Attack(
        "Otter's test runner patched",
        "wrong",
        (
            "import otter\n"
            "import otter.test_files.exception_test as exception_test\n"
            "exception_test.test_case.call_func = lambda self, env: None",
            "otter.Notebook.check = lambda *a, **k: None",
        ),
    ),
    Attack(
        "builtins patched",
        "wrong",
        (
            "import builtins\n"
            "builtins.isinstance = lambda *a: True\n"
            "builtins.abs = lambda x: 0\n"
            "builtins.float = lambda *a: 0.0\n"
            "builtins.len = lambda x: 0",
        ),
    ),
    Attack(
        "the worker's own code and its private modules replaced",
        "wrong",
        (
            "import gc, sys, types\n"
            "import numpy as np\n"
            "worker = sys.modules['__main__']\n"
            "worker._unconvertible = worker._describe = None\n"
            "for module in [m for m in gc.get_objects() if isinstance(m, types.ModuleType)]:\n"
            "    if module.__name__ == 'disc05_compare':\n"
            "        module.as_float_array = lambda value: (np.zeros(()), None)\n"
            "        module.mismatch = lambda *a, **k: None\n"
            "    if module.__name__ == 'disc05_protocol':\n"
            "        module.clip = lambda text, limit: text",
        ),
    ),
    Attack(
        "the reference imported",
        "stubs",
        ("import sys\nsys.path[:0] = ['{source}', '{repo}']\nfrom solutions import *",),
    ),
    Attack(
        "the reference read from disk and run",
        "stubs",
        (
            "def sigmoid(x):\n"
            "    namespace = {{}}\n"
            "    for path in ('{repo}/solutions/residual.py', '{source}/solutions/residual.py'):\n"
            "        try:\n"
            "            exec(open(path).read(), namespace)\n"
            "        except OSError:\n"
            "            pass\n"
            "    return namespace['sigmoid'](x)",
        ),
    ),
    Attack(
        "the hidden cases raised as an error message",
        "stubs",
        (
            "def sigmoid_grad(x):\n"
            "    for path in ('{repo}/autograder/cases.py', '{source}/autograder/cases.py'):\n"
            "        try:\n"
            "            raise RuntimeError(open(path).read())\n"
            "        except OSError:\n"
            "            pass\n"
            "    raise RuntimeError('nothing readable')",
        ),
    ),
    Attack(
        "autograder files printed",
        "stubs",
        (
            "import glob\n"
            "for path in glob.glob('{repo}/**/*.py', recursive=True) + glob.glob('{source}/**'):\n"
            "    print(open(path).read())",
        ),
    ),
    Attack(
        "a forked child and an atexit handler that rewrite the results later",
        "stubs",
        (
            "import atexit\n"
            "atexit.register(lambda: open('{source}/../results/results.json', 'w').write('{{}}'))",
            "import os, time\n"
            "if os.fork() == 0:\n"
            "    time.sleep(1)\n"
            "    open('{source}/../results/results.json', 'w').write('{{}}')\n"
            "    os._exit(0)",
            "import subprocess\n"
            "later = 'sleep 1; echo {{}} > {source}/../results/results.json'\n"
            "subprocess.Popen(['/bin/sh', '-c', later])",
        ),
    ),
    Attack(
        "the grading process killed",
        "stubs",
        ("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",),
    ),
    Attack(
        "forged results written to every open file descriptor",
        "wrong",
        (
            "import os\n"
            "for fd in range(3, 64):\n"
            "    try:\n"
            '        os.write(fd, b\'{{"event": "done"}}\\n\')\n'
            "    except OSError:\n"
            "        pass",
        ),
    ),
    Attack(
        "floats and arrays whose comparisons lie",
        "stubs",
        (
            "import numpy as np\n"
            "class Liar(float):\n"
            "    __eq__ = lambda self, other: True\n"
            "    __ne__ = lambda self, other: False\n"
            "    __abs__ = lambda self: Liar(0.0)\n"
            "    __lt__ = __le__ = lambda self, other: True\n"
            "    __gt__ = __ge__ = lambda self, other: False\n"
            "    __sub__ = __rsub__ = lambda self, other: Liar(0.0)\n"
            "class LiarArray(np.ndarray):\n"
            "    __eq__ = lambda self, other: np.ones(self.shape, bool)\n"
            "    def __array_ufunc__(self, *args, **kwargs):\n"
            "        return np.zeros(self.shape)\n"
            "def max_sigmoid_grad():\n"
            "    return Liar(-1.0)\n"
            "def effective_column_norm(p):\n"
            "    return Liar(-1.0)\n"
            "def dropout_to_ridge_weights(w_check, p):\n"
            "    return np.zeros(np.shape(w_check)).view(LiarArray)",
        ),
    ),
    Attack(
        "os._exit inside a function",
        "solution",
        ("def sigmoid(x):\n    import os\n    os._exit(0)",),
        broken=("sigmoid",),
    ),
    Attack(
        "os._exit and a hang at the top level",
        "solution",
        ("import os\nos._exit(1)", "while True:\n    pass"),
    ),
    Attack(
        "sys.exit and KeyboardInterrupt inside functions",
        "solution",
        (
            "def residual_block(W1, W2, x0):\n    raise SystemExit(0)",
            "def effective_matrix(X, Gamma):\n    raise KeyboardInterrupt",
        ),
        broken=("residual_block", "effective_matrix"),
    ),
    Attack(
        "an infinite loop inside a function",
        "solution",
        ("def dropout_gamma(X, p):\n    while True:\n        pass",),
        broken=("dropout_gamma",),
    ),
    Attack(
        "the interpreter crashed",
        "solution",
        ("def effective_column_norm(p):\n    import ctypes\n    return ctypes.string_at(0)",),
        broken=("effective_column_norm",),
    ),
    Attack(
        "1 GB allocations",
        "solution",
        (
            "import numpy as np\n"
            "def dropout_loss(w_check, X, y, p):\n"
            "    hog = bytearray(1 << 30)\n"
            "    return 0.0\n"
            "def dropout_to_ridge_weights(w_check, p):\n"
            "    return np.ones(1 << 27)",
        ),
        broken=("dropout_loss", "dropout_to_ridge_weights"),
    ),
    Attack(
        "a huge return value",
        "solution",
        ("import numpy as np\ndef sigmoid_grad(x):\n    return np.zeros(3 * 10**7)",),
        # The reference max calls sigmoid_grad, and is judged with the reference's in its place.
        broken=("sigmoid_grad",),
    ),
    Attack(
        "a stand-in asked for the function being judged, and for a later one",
        "solution",
        (
            _FORGED_STANDIN.format(name="sigmoid", asked="sigmoid", args="x"),
            _FORGED_STANDIN.format(name="sigmoid_grad", asked="max_sigmoid_grad", args="x"),
        ),
        broken=("sigmoid", "sigmoid_grad"),
    ),
    Attack(
        "megabytes of printing, to stdout and stderr",
        "solution",
        (
            "print('spam ' * 10_000_000)",
            "import sys, warnings\nprint('ham ' * 1_000_000, file=sys.stderr)\nwarnings.warn('x')",
            "import numpy as np, sys\n"
            "def effective_column_norm(p):\n"
            "    print('eggs ' * 1_000_000)\n"
            "    print('bacon ' * 100_000, file=sys.stderr)\n"
            "    return float(np.sqrt(p / (1 - p)))",
        ),
    ),
    Attack(
        "an argument modified in place",
        "solution",
        ("def dropout_to_ridge_weights(w_check, p):\n    w_check *= p\n    return w_check",),
        broken_requirements=(("dropout_to_ridge_weights", "leaves its arguments unchanged"),),
    ),
    Attack(
        "recursion bombs",
        "solution",
        (
            "def ridge_to_tikhonov_weights(w_tilde, Gamma):\n"
            "    return ridge_to_tikhonov_weights(w_tilde, Gamma)",
            "import sys\n"
            "sys.setrecursionlimit(10**9)\n"
            "def residual_jacobian(W1, W2, x0):\n"
            "    return residual_jacobian(W1, W2, x0)",
        ),
        broken=("ridge_to_tikhonov_weights", "residual_jacobian"),
    ),
)


# A cell that tries to reach outside the sandbox and, if anything works, breaks `sigmoid`: so
# on a solution base, full marks mean that nothing got through.
_BREACH = """\
import os, socket
breached = []
def attempt(name, action):
    try:
        action()
        breached.append(name)
    except BaseException:
        pass
"""
_BROKEN_IF_BREACHED = "if breached:\n    def sigmoid(x):\n        return 0.0"

BREACH_ATTACKS: tuple[Attack, ...] = (
    Attack(
        "every process signalled, then the grader's by number",
        "solution",
        (
            "import os, signal\n"
            "def effective_column_norm(p):\n"
            "    for pid in [-1, 1, os.getppid()] + list(range(2, 3000)):\n"
            "        try:\n"
            "            os.kill(pid, signal.SIGKILL)\n"
            "        except OSError:\n"
            "            pass\n"
            "    return 0.0",
        ),
        broken=("effective_column_norm",),
    ),
    Attack(
        "sockets of every family, System V IPC, keyrings, io_uring and new user namespaces",
        "solution",
        (
            _BREACH + "import ctypes, glob\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "def succeeds(result):\n"
            "    if result < 0:\n"
            "        raise OSError(ctypes.get_errno(), 'refused')\n"
            "def tcp():\n"
            "    socket.create_connection(('127.0.0.1', 22), timeout=0.2).close()\n"
            "def udp():\n"
            "    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('8.8.8.8', 53))\n"
            "def unix(path):\n"
            "    s = socket.socket(socket.AF_UNIX)\n"
            "    s.settimeout(0.2)\n"
            "    s.connect(path)\n"
            "attempt('tcp', tcp)\n"
            "attempt('udp', udp)\n"
            "attempt('mptcp', lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262))\n"
            "attempt('vsock', lambda: socket.socket(40, socket.SOCK_STREAM).bind((-1, 47005)))\n"
            "attempt('abstract', lambda: unix('\\0/tmp/.X11-unix/X0'))\n"
            "for path in glob.glob('/tmp/**', recursive=True) + glob.glob('/run/**', recursive=True):\n"
            "    attempt(path, lambda: unix(path))\n"
            "attempt('shared memory', lambda: succeeds(libc.shmget(0, 1 << 20, 0o1600)))\n"
            "attempt('message queue', lambda: succeeds(libc.msgget(0, 0o1600)))\n"
            "mq_open = {{'x86_64': 240, 'aarch64': 180}}[__import__('platform').machine()]\n"
            "attempt('posix queue', lambda: succeeds(libc.syscall(mq_open, b'q', 0o102, 0o600, None)))\n"
            "add_key = {{'x86_64': 248, 'aarch64': 217}}[__import__('platform').machine()]\n"
            "attempt('keyring', lambda: succeeds(libc.syscall(add_key, b'user', b'k', b'v', 1, -4)))\n"
            "attempt('io_uring', lambda: succeeds(libc.syscall(425, 8, ctypes.create_string_buffer(120))))\n"
            "attempt('user namespace', lambda: succeeds(libc.unshare(0x10000000)))\n"
            + _BROKEN_IF_BREACHED,
        ),
    ),
    Attack(
        "files written, many files, deep folders",
        "solution",
        (
            _BREACH + "def many(folder):\n"
            "    for i in range(20000):\n"
            "        open(os.path.join(folder, f'f{{i}}'), 'w').close()\n"
            "def deep(folder):\n"
            "    for i in range(3000):\n"
            "        folder = os.path.join(folder, 'd')\n"
            "        os.mkdir(folder)\n"
            "for folder in ('.', '/tmp', '/dev/shm', '/var/tmp', os.path.expanduser('~')):\n"
            "    attempt(folder, lambda: many(folder))\n"
            "    attempt(folder, lambda: deep(folder))\n" + _BROKEN_IF_BREACHED,
        ),
    ),
    Attack(
        "privileges and tracing",
        "solution",
        (
            _BREACH + "import ctypes\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "def check(result):\n"
            "    if result != 0:\n"
            "        raise OSError(ctypes.get_errno(), 'refused')\n"
            "attempt('setuid', lambda: os.setuid(0))\n"
            "attempt('trace parent', lambda: check(libc.ptrace(16, os.getppid(), 0, 0)))\n"
            "attempt('read parent', lambda: open(f'/proc/{{os.getppid()}}/environ').read())\n"
            + _BROKEN_IF_BREACHED,
        ),
    ),
)

CHANNEL_ATTACKS: tuple[Attack, ...] = (
    Attack(
        "a million digits as an exception message",
        "solution",
        ("def sigmoid(x):\n    raise ValueError('9' * 1_000_000)",),
        broken=("sigmoid",),
    ),
    Attack(
        "hidden inputs smuggled out in messages, type names and traceback names",
        "stubs",
        (
            "import numpy as np\n"
            "def smuggle(*args):\n"
            "    text = ' '.join(repr(np.asarray(a).tolist()) for a in args)\n"
            "    kind = type('E' + text.replace('.', '_').replace(' ', ''), (Exception,), {{}})\n"
            "    def inner():\n"
            "        raise kind(text * 100)\n"
            "    name = 'v' + ''.join(c for c in text if c.isdigit())[:50]\n"
            "    inner.__code__ = inner.__code__.replace(co_name=name)\n"
            "    inner()\n" + "".join(f"{name} = smuggle\n" for name in FUNCTIONS),
        ),
    ),
    Attack(
        "a real-time signal to itself",
        "solution",
        ("def sigmoid(x):\n    import os\n    os.kill(os.getpid(), 40)",),
        broken=("sigmoid",),
    ),
    Attack(
        "cell numbers forged",
        "solution",
        (
            "import os\n"
            'payload = (b\'{{"event": "cell", "index": 99999}}\\n\'\n'
            '    b\'{{"event": "cell_error", "index": 99999, "type": "E", "message": "m", "where": []}}\\n\')\n'
            "for fd in range(3, 64):\n"
            "    try:\n"
            "        os.write(fd, payload)\n"
            "    except OSError:\n"
            "        pass",
        ),
    ),
    Attack(
        "two thousand cells that raise long errors, half of them MemoryError",
        "solution",
        tuple(
            f"# def sigmoid(\nraise {kind}('x' * 10_000)"
            for _ in range(1000)
            for kind in ("ValueError", "MemoryError")
        ),
    ),
    Attack(
        "Markdown built to make the grader's own text searches slow",
        "solution",
        (
            "<!-- markdown -->\n" + "\n" * 300_000 + "**Your answer (q1a):**" + " " * 100_000 + "x",
            "<!-- markdown -->\n<!-- disc05: written q1c -->" + "\t" * 300_000,
        ),
    ),
    Attack(
        "its fork server stopped and continued",
        "solution",
        (
            "import os, signal\n"
            "import numpy as np\n"
            "def effective_column_norm(p):\n"
            "    for sig in (signal.SIGSTOP, signal.SIGCONT, signal.SIGSTOP):\n"
            "        try:\n"
            "            os.kill(os.getppid(), sig)\n"
            "        except OSError:\n"
            "            pass\n"
            "    return float(np.sqrt(p / (1 - p)))",
        ),
    ),
    Attack(
        "its own cell's error sent again and again, a megabyte each",
        "solution",
        (
            _FLOOD.format(events="[(index, False)] * 200"),
            "def sigmoid(x):\n    raise ValueError('redefined after the flood')",
        ),
        broken=("sigmoid",),
    ),
    Attack(
        "errors forged for sixty cells ahead, a megabyte each: past the byte budget",
        "solution",
        (_FLOOD.format(events="[(index + k, k > 0) for k in range(61)]"), *["pass"] * 60),
        broken=tuple(FUNCTIONS),
    ),
    Attack(
        "forged and malformed messages on every descriptor",
        "wrong",
        tuple(
            "import os\n"
            f"payload = {payload}\n"
            "for fd in range(3, 64):\n"
            "    try:\n"
            "        os.write(fd, payload)\n"
            "    except OSError:\n"
            "        pass"
            for payload in (
                'b\'{{"event": "result", "id": 0, "kind": "raised", "type": "E", "message": "\' + b\'x\' * (40 << 20) + b\'", "where": []}}\\n\'',
                "b'[' * 200000 + b']' * 200000 + b'\\n'",
                'b\'{{"event": "cell", "index": "0"}}\\n{{"event": "ready", "uid": 0, "landlock": [[[]]]}}\\n\'',
                'b\'{{"event": "calls"}}\\n\' + b\'\'.join(b\'{{"event": "result", "id": %d, "kind": "not_defined"}}\\n\' % i for i in range(400)) + b\'{{"event": "done", "peak_kb": 1}}\\n\'',
                "b'\\xff\\xfe not json\\n' * 100000",
            )
        ),
    ),
)

ATTACKS = ATTACKS + BREACH_ATTACKS + CHANNEL_ATTACKS


def attack_cells(attack: Attack, repo: str, source: str) -> list[str]:
    """The attack's cells with the real folder names filled in."""
    return [cell.format(repo=repo, source=source) for cell in attack.cells]
