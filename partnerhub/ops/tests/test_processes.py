import sys

from partnerhub.ops import processes
from partnerhub.ops.processes import ServeOptions, run_services


def test_web_command_serves_the_wsgi_app_with_the_chosen_options():
    command = processes.web_command(ServeOptions(host="0.0.0.0", port=9000, workers=3, threads=4))

    assert command[1:3] == ["-m", "granian"]
    assert command[-1] == "partnerhub.wsgi:application"
    assert "--respawn-failed-workers" in command
    for flag, value in [("--interface", "wsgi"), ("--host", "0.0.0.0"), ("--port", "9000"),
                        ("--workers", "3"), ("--blocking-threads", "4")]:  # fmt: skip
        assert command[command.index(flag) + 1] == value


def test_a_dying_child_stops_the_other_and_its_exit_code_is_returned(monkeypatch, tmp_path):
    marker = tmp_path / "web-stopped"
    web = (
        "import signal, sys, time, pathlib\n"
        f"def stop(*a):\n    pathlib.Path({str(marker)!r}).write_text('x'); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "time.sleep(60)\n"
    )
    monkeypatch.setattr(processes, "web_command", lambda options: [sys.executable, "-c", web])
    monkeypatch.setattr(
        processes,
        "worker_command",
        lambda: [sys.executable, "-c", "import time, sys; time.sleep(1); sys.exit(3)"],
    )

    code = run_services(ServeOptions(), write=lambda line: None, poll=0.05)

    assert code == 3
    assert marker.exists()  # the web child got SIGTERM and ran its shutdown


def test_on_ready_runs_once_the_web_port_accepts_connections(monkeypatch, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    web = (
        "import socket, time\n"
        f"s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen()\n"
        "time.sleep(60)\n"
    )
    monkeypatch.setattr(processes, "web_command", lambda options: [sys.executable, "-c", web])
    calls = []

    def ready():
        calls.append("ready")
        import os
        import signal

        os.kill(os.getpid(), signal.SIGTERM)  # as if the operator stopped the server

    code = run_services(
        ServeOptions(port=port, with_worker=False), write=calls.append, on_ready=ready, poll=0.05
    )

    assert code == 0
    assert calls == ["ready", "Stopping…"]


def test_the_wsgi_module_loads_the_urlconf_and_freezes_it_out_of_the_collector():
    import os
    import subprocess

    probe = (
        "import gc, sys\n"
        "import partnerhub.wsgi\n"
        "assert 'partnerhub.urls' in sys.modules and 'partnerhub.api.urls' in sys.modules\n"
        "print(gc.get_freeze_count())\n"
    )
    env = {**os.environ, "PARTNERHUB_DEV": "1"}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert int(out.stdout.split()[-1]) > 10_000  # the app's objects, not a handful
