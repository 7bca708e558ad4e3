"""rrr's pytest runner (`rrr start --runner pytest`), a fork server.

It speaks the protocol of docs/runners.md: requests on fd 3, one JSON line
per trial; replies on fd 4 ("ready", "started <pid>", "done exit <code>" or
"done signal <number>"). At start it loads pytest, its plugins, the
project's ini file (pytest.ini, pyproject.toml, tox.ini, setup.cfg) and its
initial conftest.py files with what they import, once (those of a top-level
directory when the first spec file below it comes). Each trial is a fork
of that process: a fresh copy of the loaded state, in a process group of
its own, that runs `pytest ARGS --junitxml=<report> <file>` and exits, so
that nothing one spec file changes reaches the next. ARGS are the words
after "pytest" in --runner; PYTEST_ADDOPTS is honoured (the trial's
environment replaces the child's before pytest reads it). A file whose
tests are all skipped at collection (pytest's exit code 5, "no tests
collected") exits 0: its report shows the skip.

Only the Python standard library and pytest are needed.
"""

import json
import os
import signal
import sys
import traceback

INTERNAL_ERROR = 3  # pytest's exit codes: an internal error,
NO_TESTS_COLLECTED = 5  # and a file without a test to run (all skipped)


def reply(out, line):
    out.write(line + "\n")
    out.flush()


def warm_up(args):
    """Load pytest, its plugins and the initial conftests the way a pytest
    run would, without collecting or running a test."""
    import pytest  # noqa: F401  (an ImportError ends the runner: not ready)

    try:
        from _pytest.config import _prepareconfig
    except ImportError:
        return  # a pytest without it still works, only slower
    try:
        config = _prepareconfig(list(args))
    except BaseException:  # a broken conftest shows in the trial itself
        traceback.print_exc()
        return
    try:
        config._ensure_unconfigure()  # undo the import hooks it installed
    except Exception:
        traceback.print_exc()


def child(req, args, fds):
    """The trial: never returns."""
    code = INTERNAL_ERROR
    try:
        os.setpgid(0, 0)
        for fd in fds:
            os.close(fd)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        for path, fd in ((req["stdout"], 1), (req["stderr"], 2)):
            f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(f, fd)
            os.close(f)
        os.environ.clear()
        os.environ.update(req.get("env") or {})
        if req.get("dir"):
            os.chdir(req["dir"])
        import pytest

        # A partition (docs/partitions.md) names the cases to run instead
        # of the file: node ids, or the file and what to deselect.
        targets = req.get("cases") or [req["file"]]
        code = int(pytest.main(list(args) + ["--junitxml=" + req["report"]] + list(targets)))
        if code == NO_TESTS_COLLECTED:
            code = 0  # a file skipped as a whole is not a failure of the suite
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else INTERNAL_ERROR
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def main():
    fd_in = int(os.environ.pop("RRR_RUNNER_IN", "3"))
    fd_out = int(os.environ.pop("RRR_RUNNER_OUT", "4"))
    requests = os.fdopen(fd_in, "r", encoding="utf-8")
    out = os.fdopen(fd_out, "w", encoding="utf-8")
    args = sys.argv[1:]
    try:
        warm_up(args)
    except ImportError as e:
        print("rrr runner pytest: cannot import pytest with %s (%s): install pytest "
              "for this Python, or put the virtualenv that has it first on PATH" % (sys.executable, e),
              file=sys.stderr)
        return 1
    reply(out, "ready")
    # pytest loads the conftest.py files of the paths it is given: those
    # of a top-level directory (a package's conftest, which imports the
    # package) are loaded here, in the parent, the first time a spec file
    # below it comes, so that every later file finds them loaded.
    warmed = set()
    for line in requests:
        if not line.strip():
            continue
        req = json.loads(line)
        top = req["file"].split("/")[0] if "/" in req["file"] else "."
        if top not in warmed:
            warmed.add(top)
            warm_up(list(args) + [top])
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            child(req, args, (fd_in, fd_out))
        try:
            os.setpgid(pid, pid)  # also here, so that it holds before "started"
        except OSError:
            pass  # the child did it already, or has ended
        reply(out, "started %d" % pid)
        # Wait without reaping, kill what is left of its group while the
        # group id cannot be reused, then reap.
        try:
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        except (AttributeError, ChildProcessError):
            pass
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            reply(out, "done signal %d" % os.WTERMSIG(status))
        else:
            reply(out, "done exit %d" % os.WEXITSTATUS(status))
    return 0


if __name__ == "__main__":
    sys.exit(main())
